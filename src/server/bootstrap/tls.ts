/**
 * TLS for the client and peer ports, from etcd's flags (--cert-file, --key-file,
 * --trusted-ca-file, --client-cert-auth and their --peer-* twins). The files are read and
 * checked once at start: an unreadable file, one holding no PEM certificate or key, or a key
 * that does not belong to its certificate refuses to start with a ConfigError naming the flag
 * and the file. What is built from them: Node secure-context options (the client port
 * terminates TLS itself, see client-port.ts) and grpc-js credentials (the peer port, the peer
 * clients, calls forwarded to another member's client port).
 *
 * The files are looked at again every TLS_RELOAD_CHECK_MS: a renewed certificate that loads
 * cleanly replaces the old one for new connections, without a restart (one that does not is
 * logged and ignored, the old one stays).
 *
 * Key material never reaches a message: errors quote paths and OpenSSL's reason only.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import tls from 'node:tls';
import { ChannelCredentials } from '@grpc/grpc-js';
import { asLogger, type LogSink } from '../../log.js';
import { defaultPeerCredentials } from '../../transport/peer-transport.js';
import { ConfigError } from '../errors.js';

/** One port's TLS flags, as given. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Verifies the other side's certificate; without it, the system's CAs do. */
  trustedCaFile?: string;
  /** Require (and verify) a client certificate from callers. */
  clientCertAuth: boolean;
}

/** One port's TLS, loaded and checked. */
export class TlsMaterial {
  readonly files: TlsFiles;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;

  constructor(files: TlsFiles, cert: Buffer, key: Buffer, ca: Buffer | undefined) {
    this.files = files;
    this.cert = cert;
    this.key = key;
    this.ca = ca;
  }

  /**
   * Options for a Node TLS server. The client port offers h2 (gRPC clients ask for it; grpc-go
   * and Node's http2 insist on it) and HTTP/1.1; an HTTP/1-only listener offers `['http/1.1']`.
   */
  serverOptions(alpn = ['h2', 'http/1.1']): tls.TlsOptions {
    return {
      cert: this.cert,
      key: this.key,
      ca: this.ca,
      requestCert: this.files.clientCertAuth,
      rejectUnauthorized: this.files.clientCertAuth,
      ALPNProtocols: alpn,
    };
  }

  /**
   * Options for a TLS connection to another member (the raft stream): this certificate is the
   * client's, the CA (or the system's) checks the other side, as `channelCredentials` does.
   */
  connectOptions(): tls.ConnectionOptions {
    return { cert: this.cert, key: this.key, ca: this.ca };
  }

  /** grpc-js channel credentials for calling another member: this certificate is the client's. */
  channelCredentials(): ChannelCredentials {
    return ChannelCredentials.createSsl(this.ca ?? null, this.key, this.cert);
  }
}

function read(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`--${flag}: cannot read ${JSON.stringify(file)}: ${reason(err)}`);
  }
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Every certificate in a PEM file (at least one), or a ConfigError naming the file. */
function certificates(flag: string, file: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0)
    throw new ConfigError(`--${flag}: ${JSON.stringify(file)} holds no PEM certificate`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new ConfigError(`--${flag}: ${JSON.stringify(file)}: bad certificate: ${reason(err)}`);
    }
  });
}

/**
 * Reads and checks one port's files. `prefix` is '' for the client port and 'peer-' for the
 * peer port: messages name the flag as the user typed it.
 */
export function loadTls(files: TlsFiles, prefix: '' | 'peer-'): TlsMaterial {
  const certFlag = `${prefix}cert-file`;
  const keyFlag = `${prefix}key-file`;
  const caFlag = `${prefix}trusted-ca-file`;
  const cert = read(certFlag, files.certFile);
  const key = read(keyFlag, files.keyFile);
  const ca = files.trustedCaFile === undefined ? undefined : read(caFlag, files.trustedCaFile);
  const leaf = certificates(certFlag, files.certFile, cert)[0]!;
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    // OpenSSL's reason only ("unsupported", "bad decrypt" …): never the key's bytes.
    throw new ConfigError(
      `--${keyFlag}: ${JSON.stringify(files.keyFile)} holds no usable PEM private key (${reason(err)})`,
    );
  }
  if (!leaf.checkPrivateKey(privateKey))
    throw new ConfigError(
      `--${keyFlag}: the private key in ${JSON.stringify(files.keyFile)} does not match the certificate in ${JSON.stringify(files.certFile)} (tls: private key does not match public key)`,
    );
  if (ca !== undefined && files.trustedCaFile !== undefined) certificates(caFlag, files.trustedCaFile, ca);
  const material = new TlsMaterial(files, cert, key, ca);
  try {
    tls.createSecureContext(material.serverOptions());
  } catch (err) {
    throw new ConfigError(
      `--${certFlag} ${JSON.stringify(files.certFile)} / --${keyFlag} ${JSON.stringify(files.keyFile)}: ${reason(err)}`,
    );
  }
  return material;
}

/** How often a member looks at its TLS files for a renewed certificate. */
export const TLS_RELOAD_CHECK_MS = 5_000;

/** Size and modification time of each file: a change of any of them means "load again". */
function stamp(files: TlsFiles): string {
  return [files.certFile, files.keyFile, files.trustedCaFile]
    .map((f) => {
      if (f === undefined) return '';
      try {
        const st = statSync(f);
        return `${st.size}@${st.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join(',');
}

/**
 * Watches one port's files; when they change and load cleanly, `apply` gets the new material.
 * Returns the function that stops watching.
 */
export function watchTls(
  current: TlsMaterial,
  prefix: '' | 'peer-',
  apply: (m: TlsMaterial) => void,
  sink: LogSink,
): () => void {
  const log = asLogger(sink);
  const what = prefix ? 'peer' : 'client';
  let seen = stamp(current.files);
  const t = setInterval(() => {
    const now = stamp(current.files);
    if (now === seen) return;
    seen = now;
    try {
      current = loadTls(current.files, prefix);
      apply(current);
      log.info(`reloaded the ${what} TLS certificate from ${JSON.stringify(current.files.certFile)}`);
    } catch (err) {
      log.warn(`keeping the current ${what} TLS certificate: ${reason(err)}`);
    }
  }, TLS_RELOAD_CHECK_MS);
  t.unref();
  return () => clearInterval(t);
}

/** A member's TLS on both ports (each undefined without its flags). */
export interface MemberTls {
  client?: TlsMaterial;
  peer?: TlsMaterial;
}

/** Loads and checks both ports' files: the first thing a member does, so bad files stop it early. */
export function loadMemberTls(config: { clientTls?: TlsFiles; peerTls?: TlsFiles }): MemberTls {
  return {
    client: config.clientTls && loadTls(config.clientTls, ''),
    peer: config.peerTls && loadTls(config.peerTls, 'peer-'),
  };
}

/**
 * Credentials for calling another member at `url` (its client or peer URL): for https://, TLS
 * with `material`'s certificate as this member's identity and its CA as the trust root.
 */
export function channelCredentialsFor(url: string, material: TlsMaterial | undefined): ChannelCredentials {
  if (material && new URL(url).protocol === 'https:') return material.channelCredentials();
  return defaultPeerCredentials(url);
}
