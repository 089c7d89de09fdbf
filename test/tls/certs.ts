/**
 * Certificates made at test time with Debian's openssl (/usr/bin/openssl): a CA, a member
 * certificate it signs (IP SAN 127.0.0.1 and DNS localhost, usable as server and client, as
 * etcd's peer certificates are), a client certificate, and a second CA with a member
 * certificate of its own (a member the cluster must not trust). P-256 keys: fast to make.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureServerBuilt } from '../harness/concord.js';
import type { TlsSetup } from '../harness/etcd.js';

export const OPENSSL = '/usr/bin/openssl';

export interface Pair {
  certFile: string;
  keyFile: string;
}

export interface TestCerts {
  dir: string;
  caFile: string;
  /** Member certificate signed by the CA (serverAuth + clientAuth). */
  member: Pair;
  /** Client certificate signed by the CA (clientAuth), CN "client". */
  client: Pair;
  /** A second, unrelated CA. */
  otherCaFile: string;
  /** Member certificate signed by the other CA. */
  rogue: Pair;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `openssl req` with a new P-256 key `<name>.key` and subject CN=<name>, writing `out`. */
function newKeyRequest(dir: string, name: string, out: string, extra: string[] = []): void {
  const key = [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
  ];
  openssl(dir, ['req', ...extra, ...key, '-out', out, '-subj', `/CN=${name}`]);
}

function makeCa(dir: string, name: string): void {
  newKeyRequest(dir, name, `${name}.crt`, ['-x509', '-days', '2']);
}

function makeLeaf(dir: string, name: string, ca: string, usage: string): Pair {
  newKeyRequest(dir, name, `${name}.csr`);
  writeFileSync(
    path.join(dir, `${name}.ext`),
    `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${usage}\n`,
  );
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
  return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'concord-tls-'));
  try {
    makeCa(dir, 'ca');
    makeCa(dir, 'other-ca');
    return {
      dir,
      caFile: path.join(dir, 'ca.crt'),
      member: makeLeaf(dir, 'member', 'ca', 'serverAuth,clientAuth'),
      client: makeLeaf(dir, 'client', 'ca', 'clientAuth'),
      otherCaFile: path.join(dir, 'other-ca.crt'),
      rogue: makeLeaf(dir, 'rogue', 'other-ca', 'serverAuth,clientAuth'),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Certificates for a test file, made in beforeAll once the server is built and removed in
 * afterAll: call the returned function in a test (or a later hook) to read them.
 */
export function certsForFile(): () => TestCerts {
  let certs: TestCerts | undefined;
  beforeAll(() => {
    ensureServerBuilt();
    certs = makeCerts();
  }, 120_000);
  afterAll(() => certs?.remove());
  return () => {
    if (!certs) throw new Error('certsForFile: the certificates are made in beforeAll');
    return certs;
  };
}

/** The harness's TLS for `certs`: member certificates, --client-cert-auth, and peer mTLS if asked. */
export function tlsSetup(certs: TestCerts, o: { peer?: boolean } = {}): TlsSetup {
  return {
    caFile: certs.caFile,
    certFile: certs.member.certFile,
    keyFile: certs.member.keyFile,
    clientCertFile: certs.client.certFile,
    clientKeyFile: certs.client.keyFile,
    clientCertAuth: true,
    ...(o.peer ? { peer: true } : {}),
  };
}

/** The SDK's `tls` option with the client certificate of `certs`. */
export function clientTls(certs: TestCerts): { ca: Buffer; cert: Buffer; key: Buffer } {
  return {
    ca: readFileSync(certs.caFile),
    cert: readFileSync(certs.client.certFile),
    key: readFileSync(certs.client.keyFile),
  };
}
