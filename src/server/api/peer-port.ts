/**
 * The peer port: the peer gRPC service (snapshots, forwarded lease calls, cluster info) and the
 * raft stream (transport/raft-stream.ts) on one TCP listener. A connection's first bytes
 * decide: the raft stream's magic goes to `raft`, the HTTP/2 preface to grpc-js (through its
 * connection injector, as on the client port), anything else is closed. On an https:// URL the
 * port terminates TLS first and routes the decrypted stream the same way.
 */
import type net from 'node:net';
import type { ConnectionInjector, Server as GrpcJsServer } from '@grpc/grpc-js';
import { RAFT_STREAM_MAGIC } from '../../transport/raft-stream.js';
import type { TlsMaterial } from '../bootstrap/tls.js';
import { HTTP2_PREFACE, injectorOf, ROUTE_TIMEOUT_MS } from './client-port.js';
import { PortListener, routeByFirstBytes } from './first-bytes.js';

/** gRPC clients ask for h2 (grpc-js insists on it); the raft stream asks for nothing. */
const PEER_ALPN = ['h2'];

export class PeerPort {
  readonly #listener: PortListener;
  readonly #injector: ConnectionInjector;
  readonly #raft: (socket: net.Socket) => void;
  /** Open raft streams: closing the port ends them (grpc-js's shutdown ends its own sessions). */
  readonly #streams = new Set<net.Socket>();

  constructor(grpc: GrpcJsServer, raft: (socket: net.Socket) => void, tlsMaterial?: TlsMaterial) {
    this.#injector = injectorOf(grpc).injector;
    this.#raft = raft;
    this.#listener = new PortListener((socket) => this.#route(socket), tlsMaterial, PEER_ALPN);
  }

  /** A renewed certificate (see watchTls): new connections are served with it. No-op on http://. */
  setTls(material: TlsMaterial): void {
    this.#listener.setTls(material);
  }

  /** Listens on host:port (0 = any free port); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return this.#listener.listen(host, port);
  }

  #route(socket: net.Socket): void {
    routeByFirstBytes(socket, [RAFT_STREAM_MAGIC, HTTP2_PREFACE], ROUTE_TIMEOUT_MS, (which, head) => {
      if (which === 0) {
        const rest = head.subarray(RAFT_STREAM_MAGIC.length);
        if (rest.length > 0) socket.unshift(rest);
        this.#streams.add(socket);
        socket.once('close', () => this.#streams.delete(socket));
        this.#raft(socket);
      } else if (which === 1) {
        socket.unshift(head);
        this.#injector.injectConnection(socket);
      } else socket.destroy();
    });
  }

  /** Stops accepting connections and ends the raft streams. */
  close(): void {
    this.#listener.close();
    for (const s of this.#streams) s.destroy();
  }
}
