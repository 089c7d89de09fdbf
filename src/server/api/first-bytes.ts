/**
 * Routing a connection by its first bytes, for ports that serve several protocols on one
 * listener (the client port: HTTP/2 or HTTP/1; the peer port: HTTP/2 or the raft stream).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TlsMaterial } from '../bootstrap/tls.js';

/**
 * Reads `socket` until its first bytes match one of `prefixes` whole, or differ from all of
 * them (or the peer ends), then calls `route` with the index of the match (-1 for none) and the
 * bytes read, which the caller puts back or consumes. A socket that has not decided within
 * `timeoutMs` is closed (etcd's cmux waits for good).
 */
export function routeByFirstBytes(
  socket: net.Socket,
  prefixes: readonly Buffer[],
  timeoutMs: number,
  route: (which: number, head: Buffer) => void,
): void {
  // Until a server owns it, a reset socket must not become an uncaught error.
  const onError = () => socket.destroy();
  socket.on('error', onError);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  let head = Buffer.alloc(0);
  const onReadable = () => {
    let chunk: Buffer | null;
    // biome-ignore lint/suspicious/noAssignInExpressions: the usual stream read loop.
    while ((chunk = socket.read() as Buffer | null) !== null) head = Buffer.concat([head, chunk]);
    let which = -1;
    let undecided = false;
    for (let i = 0; i < prefixes.length; i++) {
      const p = prefixes[i]!;
      const n = Math.min(head.length, p.length);
      if (!head.subarray(0, n).equals(p.subarray(0, n))) continue;
      if (n === p.length) which = i;
      else undecided = true;
    }
    if (which < 0 && undecided && !socket.readableEnded) return;
    clearTimeout(timer);
    socket.off('readable', onReadable);
    socket.off('error', onError);
    route(which, head);
  };
  socket.on('readable', onReadable);
}

/**
 * A TCP listener for such a port: on an https:// URL it terminates TLS first (a Node TLS server
 * that never listens: it is handed each socket) and hands on the decrypted stream; a failed
 * handshake ends in the TLS server, which destroys the socket.
 */
export class PortListener {
  readonly #tcp: net.Server;
  readonly #secure: tls.Server | undefined;
  readonly #alpn: string[] | undefined;

  /** `tlsMaterial`: this port is https://, offering `alpn`; `accept` gets each connection. */
  constructor(
    accept: (socket: net.Socket) => void,
    tlsMaterial?: TlsMaterial,
    alpn?: string[],
    onVerified?: (socket: tls.TLSSocket) => void,
  ) {
    this.#alpn = alpn;
    const secure = tlsMaterial
      ? tls.createServer(tlsMaterial.serverOptions(alpn), (socket) => {
          onVerified?.(socket);
          accept(socket);
        })
      : undefined;
    this.#secure = secure;
    this.#tcp = net.createServer((socket) => {
      socket.setNoDelay(true);
      if (secure) secure.emit('connection', socket);
      else accept(socket);
    });
  }

  /** A renewed certificate (see watchTls): new connections are served with it. No-op on http://. */
  setTls(material: TlsMaterial): void {
    this.#secure?.setSecureContext(material.serverOptions(this.#alpn));
  }

  /** Listens on host:port (0 = any free port); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#tcp.once('error', reject);
      this.#tcp.listen(port, host, () => {
        this.#tcp.off('error', reject);
        resolve((this.#tcp.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops accepting connections. */
  close(): void {
    this.#tcp.close();
  }
}
