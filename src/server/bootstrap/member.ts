/**
 * A running member: the Node plus its listeners (gRPC on every --listen-client-urls, HTTP on
 * every --listen-metrics-urls). `stop()` is the graceful shutdown: stop taking calls, end open
 * streams, flush the WAL, release files.
 */
import type http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { createServer, type Server } from 'nice-grpc';
import { defaultLogger, type Logger, type LogSink } from '../../log.js';
import { PEER_COLD_DEFINITION, peerService, serveRaftStream } from '../../transport/peer-service.js';
import { PEER_MAX_MESSAGE_BYTES } from '../../transport/peer-transport.js';
import { ClientPort, grpcJsServerOf } from '../api/client-port.js';
import { createGrpcServer } from '../api/grpc-server.js';
import { createHttpServer } from '../api/http-server.js';
import { PeerPort } from '../api/peer-port.js';
import type { ServeConfig } from './config.js';
import { Node } from './node.js';
import { watchTls } from './tls.js';

/** How long a removed member keeps answering before it stops (etcd waits 1 s too). */
export const REMOVED_STOP_DELAY_MS = 1_000;

/** How long graceful shutdown waits for unary calls before cancelling what is left. */
export const SHUTDOWN_GRACE_MS = 2_000;

export interface Member {
  node: Node;
  /** Bound client addresses (host:port), in --listen-client-urls order. */
  clientAddresses: string[];
  metricsAddresses: string[];
  /** Bound peer addresses (host:port), in --listen-peer-urls order. */
  peerAddresses: string[];
  /** Resolves when this member has been removed from the cluster (it should then stop). */
  removed: Promise<void>;
  stop(): Promise<void>;
}

export async function startMember(config: ServeConfig, sink: LogSink = defaultLogger()): Promise<Member> {
  const node = await Node.start(config, sink);
  const log = node.log;
  const grpc: Server = createGrpcServer(node);
  const https: http.Server[] = [];
  /** TLS listeners in front of `https` (https:// metrics URLs). */
  const listeners: net.Server[] = [];
  const ports: ClientPort[] = [];
  const clientAddresses: string[] = [];
  const metricsAddresses: string[] = [];
  const peerAddresses: string[] = [];
  const peer = createServer({
    'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES,
    'grpc.enable_channelz': 0,
  });
  peer.add(PEER_COLD_DEFINITION, peerService(node.peerHandler));
  // Each peer URL is one listener serving nice-grpc's peer methods and the raft stream (see
  // peer-port.ts), which the grpc-js server underneath never binds itself.
  const peerGrpc = await grpcJsServerOf(peer);
  const peerPorts: PeerPort[] = [];
  /** https:// metrics listeners, renewed with the client port's certificate. */
  const secureMetrics: tls.Server[] = [];
  try {
    warnPlainWithTls(config, log);
    for (const url of config.listenPeerUrls) {
      const u = new URL(url);
      const secure = u.protocol === 'https:' ? node.tls.peer : undefined;
      const p = new PeerPort(peerGrpc, (socket) => serveRaftStream(socket, node.peerHandler), secure);
      peerPorts.push(p);
      const port = await p.listen(u.hostname, Number(u.port));
      peerAddresses.push(`${u.hostname}:${port}`);
    }
    // etcd serves clients only once it is ready: a restarted member first catches up with the
    // leader's commit, so it never answers from a state older than what clients saw before.
    await node.waitReady();
    // gRPC and HTTP/1 share each client port (as in etcd); see client-port.ts.
    const grpcJs = await grpcJsServerOf(grpc);
    const clientHttp = createHttpServer(node);
    for (const url of config.listenClientUrls) {
      const u = new URL(url);
      const secure = u.protocol === 'https:' ? node.tls.client : undefined;
      const p = new ClientPort(
        grpcJs,
        clientHttp,
        secure,
        node.config.clientTls?.clientCertAuth ? (socket) => node.certUsers.record(socket) : undefined,
      );
      ports.push(p);
      const port = await p.listen(u.hostname, Number(u.port));
      clientAddresses.push(`${u.hostname}:${port}`);
    }
    for (const url of config.listenMetricsUrls) {
      const u = new URL(url);
      const h = createHttpServer(node);
      https.push(h);
      // https:// metrics URLs use the client port's certificate (as etcd's do).
      const material = u.protocol === 'https:' ? node.tls.client : undefined;
      const s: net.Server = material
        ? tls.createServer(material.serverOptions(['http/1.1']), (socket) => h.emit('connection', socket))
        : h;
      if (s !== h) listeners.push(s);
      if (s instanceof tls.Server) secureMetrics.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(Number(u.port), u.hostname, () => resolve());
      });
      const addr = s.address();
      metricsAddresses.push(typeof addr === 'object' && addr ? `${u.hostname}:${addr.port}` : u.host);
    }
  } catch (err) {
    for (const p of [...ports, ...peerPorts]) p.close();
    grpc.forceShutdown();
    peer.forceShutdown();
    for (const s of [...https, ...listeners]) s.close();
    await node.close();
    throw err;
  }
  // Renewed certificates take effect for new connections, without a restart.
  const unwatch = [
    node.tls.client &&
      watchTls(
        node.tls.client,
        '',
        (m) => {
          node.tls.client = m;
          for (const p of ports) p.setTls(m);
          for (const s of secureMetrics) s.setSecureContext(m.serverOptions(['http/1.1']));
        },
        log,
      ),
    node.tls.peer &&
      watchTls(
        node.tls.peer,
        'peer-',
        (m) => {
          node.tls.peer = m;
          for (const p of peerPorts) p.setTls(m);
          node.proposer.transport.reconnect();
        },
        log,
      ),
  ];
  let stopping: Promise<void> | undefined;
  const removed = new Promise<void>((resolve) => {
    node.proposer.onRemoved = () => {
      log.warn(`member ${node.memberId.toString(16)} has been permanently removed from the cluster`);
      // etcd's stopWithDelay: the call that removed this member is answered before it stops.
      setTimeout(resolve, REMOVED_STOP_DELAY_MS).unref();
    };
  });
  return {
    node,
    clientAddresses,
    metricsAddresses,
    peerAddresses,
    removed,
    stop() {
      stopping ??= (async () => {
        for (const stop of unwatch) stop?.();
        // A leader hands over first, so the cluster does not wait out an election timeout.
        if (node.proposer.isLeader) {
          const moved = await node.proposer.transferLeadership().catch(() => false);
          if (moved)
            log.info(`transferred leadership to ${node.proposer.leader.toString(16)}`, {
              leader: node.proposer.leader.toString(16),
            });
        }
        for (const p of ports) p.close();
        for (const s of [...https, ...listeners]) s.close();
        // Streams never finish by themselves: end them, then give unary calls a grace period.
        node.endStreams();
        const grace = setTimeout(() => grpc.forceShutdown(), SHUTDOWN_GRACE_MS);
        await grpc.shutdown();
        clearTimeout(grace);
        for (const p of peerPorts) p.close();
        peer.forceShutdown();
        await node.close();
      })();
      return stopping;
    },
  };
}

/** etcd's warnings for an http:// URL while TLS files are set: that URL is served in the clear. */
function warnPlainWithTls(config: ServeConfig, log: Logger): void {
  const warn = (urls: string[], what: string, files: ServeConfig['clientTls'], flag: string) => {
    for (const url of urls) {
      if (!files || !url.startsWith('http:')) continue;
      log.warn(
        `scheme is HTTP while key and cert files are present; ignoring key and cert files (${what} ${url})`,
      );
      if (files.clientCertAuth)
        log.warn(
          `scheme is HTTP while --${flag} is enabled; ignoring client cert auth for this URL (${what} ${url})`,
        );
    }
  };
  warn(config.listenClientUrls, 'client-url', config.clientTls, 'client-cert-auth');
  warn(config.listenPeerUrls, 'peer-url', config.peerTls, 'peer-client-cert-auth');
}
