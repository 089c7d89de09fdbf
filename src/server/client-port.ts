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
 */
import type http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { type ConnectionInjector, Server as GrpcJsServer, ServerCredentials } from '@grpc/grpc-js';
import type { Server } from 'nice-grpc';
import type { TlsMaterial } from './tls.js';

const HTTP2_PREFACE_START = Buffer.from('PRI', 'latin1');

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
  return captured;
}

export class ClientPort {
  readonly #tcp: net.Server;
  readonly #injector: ConnectionInjector;
  readonly #http: http.Server;
  readonly #secure: tls.Server | undefined;

  /** `tls`: this port is https:// (its certificate, and whether client certificates are required). */
  constructor(grpc: GrpcJsServer, httpServer: http.Server, tlsMaterial?: TlsMaterial) {
    this.#injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
    this.#http = httpServer;
    const secure = tlsMaterial
      ? tls.createServer(tlsMaterial.serverOptions(), (socket) => this.#route(socket))
      : undefined;
    this.#secure = secure;
    this.#tcp = net.createServer((socket) => {
      socket.setNoDelay(true);
      // A failed handshake (no certificate, an untrusted one, plain text) ends in the TLS
      // server, which destroys the socket.
      if (secure) secure.emit('connection', socket);
      else this.#route(socket);
    });
  }

  /** A renewed certificate (see watchTls): new connections are served with it. No-op on http://. */
  setTls(material: TlsMaterial): void {
    this.#secure?.setSecureContext(material.serverOptions());
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

  #route(socket: net.Socket): void {
    // Until a server owns it, a reset socket must not become an uncaught error.
    const onError = () => socket.destroy();
    socket.on('error', onError);
    let head = Buffer.alloc(0);
    const onReadable = () => {
      let chunk: Buffer | null;
      // biome-ignore lint/suspicious/noAssignInExpressions: the usual stream read loop.
      while ((chunk = socket.read() as Buffer | null) !== null) head = Buffer.concat([head, chunk]);
      if (head.length < HTTP2_PREFACE_START.length && !socket.readableEnded) return;
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.unshift(head);
      if (head.subarray(0, HTTP2_PREFACE_START.length).equals(HTTP2_PREFACE_START))
        this.#injector.injectConnection(socket);
      else this.#http.emit('connection', socket);
    };
    socket.on('readable', onReadable);
  }

  /** Stops accepting connections; the gRPC server's shutdown closes its sessions. */
  close(): void {
    this.#tcp.close();
    this.#http.closeAllConnections();
  }
}
