/**
 * The client port: gRPC and HTTP/1 (/health, /version, /metrics) on one TCP listener, as etcd
 * serves them. Each connection's first bytes decide: the HTTP/2 connection preface ("PRI *
 * HTTP/2.0") goes to the gRPC server, anything else to the HTTP/1 server. The socket itself is
 * handed over (no proxying), so the gRPC hot path pays nothing for the sharing.
 *
 * nice-grpc owns its grpc-js Server and only offers `listen(address)`; grpc-js's public
 * `createConnectionInjector` is what lets us hand it sockets. `grpcJsServerOf` obtains the
 * grpc-js Server nice-grpc builds by intercepting the one `bindAsync` call its `listen` makes
 * (synchronously, before its first await), binding nothing.
 *
 * On an https:// URL the port terminates TLS first (a Node TLS server that never listens: it is
 * handed each socket) and routes the decrypted stream the same way. grpc-js sees a TLS socket
 * under an HTTP/2 session, so a call's auth context still carries the client's certificate.
 *
 * A connection whose first bytes have not said which it is within ROUTE_TIMEOUT_MS is closed
 * (etcd's cmux waits for good). The HTTP/2 server grpc-js creates for the injector (obtained
 * the same way, from its one `http2.createServer` call) is watched by grpc-hygiene.ts: every
 * session and stream, for what grpc-go closes or refuses and grpc-js would keep.
 */
import type http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type tls from 'node:tls';
import { type ConnectionInjector, Server as GrpcJsServer, ServerCredentials } from '@grpc/grpc-js';
import type { Server } from 'nice-grpc';
import type { TlsMaterial } from '../bootstrap/tls.js';
import { PortListener, routeByFirstBytes } from './first-bytes.js';
import { grpcLimitsOf, guardSession, guardStream, setGrpcLimits } from './grpc-hygiene.js';
import { AuthorityRewriter, screen } from './url-authority.js';

export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** How long a connection's first bytes may take to tell HTTP/2 from HTTP/1. */
export const ROUTE_TIMEOUT_MS = 10_000;

/** Registers nice-grpc's services on a grpc-js Server without binding a port, and returns it. */
export async function grpcJsServerOf(server: Server): Promise<GrpcJsServer> {
  const proto = GrpcJsServer.prototype;
  const bindAsync = proto.bindAsync;
  let captured: GrpcJsServer | undefined;
  proto.bindAsync = function (this: GrpcJsServer, _port, _creds, callback) {
    captured = this;
    process.nextTick(() => callback(null, 0));
  };
  let listening: Promise<number>;
  try {
    listening = server.listen('concord-injected:0');
  } finally {
    proto.bindAsync = bindAsync;
  }
  await listening;
  if (!captured) throw new Error('concord: nice-grpc did not create a grpc-js server in listen()');
  const limits = grpcLimitsOf(server);
  if (limits) setGrpcLimits(captured, limits);
  return captured;
}

/** grpc-js's connection injector, and the HTTP/2 server it creates for it (its one `http2.createServer` call). */
export function injectorOf(grpc: GrpcJsServer): {
  injector: ConnectionInjector;
  http2Server: http2.Http2Server;
} {
  const mod = http2 as unknown as { createServer: typeof http2.createServer };
  const createServer = mod.createServer;
  let created: http2.Http2Server | undefined;
  mod.createServer = ((...args: Parameters<typeof http2.createServer>) => {
    created = createServer(...args);
    return created;
  }) as typeof http2.createServer;
  let injector: ConnectionInjector;
  try {
    injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
  } finally {
    mod.createServer = createServer;
  }
  if (!created)
    throw new Error('concord: grpc-js did not create an HTTP/2 server for its connection injector');
  return { injector, http2Server: created };
}

/** Node's net.Socket reads its addresses from `_peername` / `_sockname` when it has no handle. */
function peerOf(session: http2.ServerHttp2Session, socket: net.Socket): void {
  const inner = session.socket as unknown as Record<string, unknown>;
  inner._peername = { address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily };
  inner._sockname = { address: socket.localAddress, port: socket.localPort, family: socket.localFamily };
}

export class ClientPort {
  readonly #listener: PortListener;
  readonly #injector: ConnectionInjector;
  readonly #http: http.Server;
  /** The socket being handed to grpc-js: its session is created (and emitted) synchronously. */
  #injecting: net.Socket | undefined;

  /** `tls`: this port is https:// (its certificate, and whether client certificates are required). */
  constructor(
    grpc: GrpcJsServer,
    httpServer: http.Server,
    tlsMaterial?: TlsMaterial,
    onVerified?: (socket: tls.TLSSocket) => void,
  ) {
    const { injector, http2Server } = injectorOf(grpc);
    this.#injector = injector;
    const limits = grpcLimitsOf(grpc);
    // Before grpc-js's own listener, so a stream is watched before grpc-js reads from it.
    http2Server.prependListener('stream', (stream, headers) => guardStream(stream, headers, limits));
    http2Server.on('session', (session) => {
      const socket = this.#injecting;
      if (!socket) return;
      guardSession(session, socket);
      // Over a rewriting stream, Node's session sits on a JS stream socket that knows no
      // addresses: give it the real ones, which calls report as their peer (and which
      // --client-cert-auth looks the certificate's user up by).
      if (session.socket.remoteAddress === undefined) peerOf(session, socket);
    });
    this.#http = httpServer;
    // Default ALPN: h2 for gRPC clients, http/1.1 for the HTTP endpoints.
    this.#listener = new PortListener((socket) => this.#route(socket), tlsMaterial, undefined, onVerified);
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
    // The whole preface decides HTTP/2; the first byte that differs from it, HTTP/1.
    routeByFirstBytes(socket, [HTTP2_PREFACE], ROUTE_TIMEOUT_MS, (which, head) => {
      if (which === 0) {
        screen(socket, head, (bytes, rewrite) => {
          if (socket.destroyed) return;
          if (rewrite) this.#inject(socket, new AuthorityRewriter(socket, bytes));
          else {
            socket.unshift(bytes);
            this.#inject(socket, socket);
          }
        });
      } else {
        socket.unshift(head);
        this.#http.emit('connection', socket);
      }
    });
  }

  /** Hands a connection to grpc-js's HTTP/2 server; `conn` is `socket`, or a stream over it. */
  #inject(socket: net.Socket, conn: net.Socket | AuthorityRewriter): void {
    this.#injecting = socket;
    try {
      this.#injector.injectConnection(conn);
    } finally {
      this.#injecting = undefined;
    }
  }

  /** Stops accepting connections; the gRPC server's shutdown closes its sessions. */
  close(): void {
    this.#listener.close();
    this.#http.closeAllConnections();
  }
}
