/**
 * etcd's AuthInfoFromTLS: under --client-cert-auth, a call that carries no token is made as the
 * user named by its client certificate's common name. The client port terminates TLS itself
 * (see client-port.ts), so it records each verified connection's CN by remote address; the gRPC
 * middleware and the JSON gateway put it in the call's metadata under CERT_USER_KEY, after
 * removing any value a client sent under that key, so only a certificate can name a user.
 */
import type tls from 'node:tls';

export const CERT_USER_KEY = 'x-concord-cert-cn';

export class CertUsers {
  readonly #byPeer = new Map<string, string>();

  /** A connection whose certificate the TLS server verified. */
  record(socket: tls.TLSSocket): void {
    if (!socket.authorized) return;
    const cn = commonName(socket);
    const key = peerKey(socket.remoteAddress, socket.remotePort);
    if (!cn || !key) return;
    this.#byPeer.set(key, cn);
    socket.once('close', () => {
      if (this.#byPeer.get(key) === cn) this.#byPeer.delete(key);
    });
  }

  /** The CN for a gRPC call's peer ("127.0.0.1:5000", "[::1]:5000", "ipv4:…"). */
  userOf(peer: string): string | undefined {
    const m = /^(?:ipv[46]:)?\[?([^\]]*?)\]?:(\d+)$/.exec(peer);
    return m ? this.#byPeer.get(peerKey(m[1], Number(m[2]))!) : undefined;
  }
}

export function commonName(socket: tls.TLSSocket): string | undefined {
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

function peerKey(address: string | undefined, port: number | undefined): string | undefined {
  if (!address || !port) return undefined;
  return `${address.replace(/^::ffff:/, '')}:${port}`;
}
