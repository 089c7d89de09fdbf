/**
 * Messages to peers: one long-lived raft stream per peer (raft-stream.ts: a TCP or TLS
 * connection of its own to the peer port), fed with one batch per `send` (the host sends a
 * Ready's messages in one call), written to the socket in the caller's turn: a batch held for
 * the next macrotask, or for node:http2's next write pass, would delay every append and
 * acknowledgement. Snapshots go over gRPC `SendSnapshot`, one call per transfer, in chunks; the
 * lease calls a follower forwards to the leader over gRPC too (`client()`).
 *
 * Delivery is best effort, as Raft expects of its network: a broken stream loses what was in
 * it, the core is told the peer is unreachable and retransmits. A peer that cannot keep up has
 * its queue bounded: beyond it, messages are dropped (and reported) rather than buffered. A peer
 * that keeps refusing connections is dialled again after a back-off (100 ms doubling to 1 s),
 * not on every batch.
 */
import net from 'node:net';
import tls from 'node:tls';
import { type Channel, ChannelCredentials, type Client, createChannel, createClient } from 'nice-grpc';
import { type BackoffOptions, backoffCeiling } from '../backoff.js';
import {
  MessageBatch,
  type Message as PbMessage,
  type PeerClient,
  PeerDefinition,
  type SnapshotChunk,
} from '../gen/concord/raftpb.js';
import { asLogger, type LogSink, took } from '../log.js';
import type { Message, NodeId } from '../raft/index.js';
import { toPbMessage } from './codec.js';
import { connectTunnel, proxyFor } from './proxy-dial.js';
import {
  FrameReader,
  frameHeader,
  parseRefusal,
  RAFT_STREAM_MAGIC,
  SILENCE_LIMIT_MS,
} from './raft-stream.js';

/** What a member answers to messages from a member removed from the cluster (etcd's wording). */
export const REMOVED_MESSAGE = 'the member has been permanently removed from the cluster';

/** Bytes queued to one peer's socket (not yet written) beyond which further messages are dropped. */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Bytes per snapshot chunk on the wire. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** The largest peer message (a batch of entries); larger ones are refused. */
export const PEER_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
/** The first and the longest wait before dialling a peer whose last connection failed. */
export const REDIAL: BackoffOptions = { baseMs: 100, capMs: 1_000 };
/** A connection that lived this long was no failure: the next one is dialled at once. */
const HEALTHY_CONNECTION_MS = 1_000;

export interface PeerTransportOptions {
  selfId: NodeId;
  clusterId: bigint;
  /** A local snapshot by raft index (what a MsgSnap refers to): its membership record and bytes. */
  openSnapshot(index: number): Promise<{ membership: Uint8Array; data: AsyncIterable<Uint8Array> }>;
  /** A message to `id` was lost (stream broken, queue full): the core should know. */
  onUnreachable(id: NodeId): void;
  onSnapshotSent(id: NodeId, ok: boolean): void;
  /** A peer refused this member's messages: it has been removed from the cluster. */
  onRemoved(): void;
  /** Where the transport logs (a Logger, or a function given each line's text). */
  log: LogSink;
  /** Credentials for a peer URL (the member's peer TLS for https://); default: see peerCredentials. */
  credentials?: (peerUrl: string) => ChannelCredentials;
  /**
   * TLS for the raft stream to an https:// peer URL (this member's certificate and the CA it
   * trusts); default: the system's CAs, no client certificate. Not asked for http:// URLs.
   */
  tlsOptions?: (peerUrl: string) => tls.ConnectionOptions;
  /** How long written batches may go unacknowledged before the peer is taken for gone (tests shorten it). */
  silenceLimitMs?: number;
}

/** Plain for http:// peers, TLS verified with the system's CAs for https:// ones. */
export function defaultPeerCredentials(peerUrl: string): ChannelCredentials {
  return new URL(peerUrl).protocol === 'https:'
    ? ChannelCredentials.createSsl()
    : ChannelCredentials.createInsecure();
}

interface Link {
  id: NodeId;
  url: string;
  channel: Channel;
  client: Client<typeof PeerDefinition>;
  /** The raft stream, while open (or connecting). */
  socket: net.Socket | undefined;
  /** Consecutive connections that failed young; the back-off doubles with each. */
  failures: number;
  /** No dialling before this time (ms since the epoch). */
  redialAt: number;
  /** A tunnel through a proxy is being set up. */
  dialling: boolean;
  /** When the first batch not yet acknowledged was written (0: everything was). */
  unacked: number;
  pending: PbMessage[];
  snapshotting: boolean;
}

export class PeerTransport {
  readonly #opts: PeerTransportOptions;
  readonly #silenceLimitMs: number;
  readonly #links = new Map<NodeId, Link>();
  #closed = false;

  constructor(opts: PeerTransportOptions) {
    this.#opts = opts;
    this.#silenceLimitMs = opts.silenceLimitMs ?? SILENCE_LIMIT_MS;
  }

  /** Starts talking to a peer (or re-points it at a new URL). */
  addPeer(id: NodeId, peerUrl: string): void {
    const old = this.#links.get(id);
    if (old?.url === peerUrl) return;
    if (old) this.removePeer(id);
    const u = new URL(peerUrl);
    const credentials = (this.#opts.credentials ?? defaultPeerCredentials)(peerUrl);
    const channel = createChannel(`${u.hostname}:${u.port}`, credentials, {
      'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES,
      'grpc.enable_channelz': 0,
      'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES,
      // Fail fast and retry soon: a member that comes back must be heard from within a heartbeat or two.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    });
    this.#links.set(id, {
      id,
      url: peerUrl,
      channel,
      client: createClient(PeerDefinition, channel),
      socket: undefined,
      failures: 0,
      redialAt: 0,
      dialling: false,
      unacked: 0,
      pending: [],
      snapshotting: false,
    });
  }

  removePeer(id: NodeId): void {
    const l = this.#links.get(id);
    if (!l) return;
    this.#links.delete(id);
    // What was written is flushed, then the connection ends; its close reports nothing (the
    // link is gone from the map).
    l.socket?.end();
    l.socket = undefined;
    l.channel.close();
  }

  /**
   * Opens every link again (new credentials: a renewed certificate). What was in flight is lost,
   * as on any broken stream; Raft retransmits.
   */
  reconnect(): void {
    for (const l of [...this.#links.values()]) {
      this.removePeer(l.id);
      this.addPeer(l.id, l.url);
    }
  }

  /** A client for calls a follower forwards to `id` (the leader), or undefined if unknown. */
  client(id: NodeId): PeerClient | undefined {
    return this.#links.get(id)?.client;
  }

  send(msgs: readonly Message[]): void {
    if (this.#closed) return;
    for (const m of msgs) {
      const l = this.#links.get(m.to);
      if (!l) continue;
      if (m.type === 'MsgSnap') {
        this.#sendSnapshot(l, m);
        continue;
      }
      l.pending.push(toPbMessage(m));
    }
    this.#flush();
  }

  #flush(): void {
    for (const l of this.#links.values()) {
      if (l.pending.length === 0) continue;
      const messages = l.pending;
      l.pending = [];
      if (l.socket && l.unacked !== 0 && Date.now() - l.unacked > this.#silenceLimitMs) {
        // Written to for a while and never read: the peer is gone without a reset. Its close
        // reports it to the core; this batch goes on a new connection.
        l.socket.destroy();
        l.socket = undefined;
      }
      const socket = l.socket ?? this.#open(l);
      // Backing off (the failed connection's close has told the core already), or a tunnel
      // being set up: dropped, the core retransmits.
      if (!socket) continue;
      if (socket.writableLength >= MAX_QUEUED_BYTES) {
        this.#opts.onUnreachable(l.id);
        continue;
      }
      if (l.unacked === 0) l.unacked = Date.now();
      const bytes = MessageBatch.encode({
        clusterId: this.#opts.clusterId,
        from: this.#opts.selfId,
        messages,
      }).finish();
      // Header and batch in one writev, attempted now (libuv tries the write in this turn).
      socket.cork();
      socket.write(frameHeader(bytes.byteLength));
      socket.write(bytes);
      socket.uncork();
    }
  }

  /**
   * Dials the peer's raft stream. Direct, the socket is returned at once and buffers what is
   * written until it connects. Through a proxy (proxy-dial.ts) the tunnel is set up first, and
   * batches meanwhile are dropped (the core retransmits); undefined then, and while backing off.
   */
  #open(l: Link): net.Socket | undefined {
    const now = Date.now();
    if (now < l.redialAt || l.dialling) return undefined;
    const u = new URL(l.url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port);
    const secure = u.protocol === 'https:';
    const proxy = proxyFor(host);
    if (proxy) {
      l.dialling = true;
      connectTunnel(proxy, host, port).then(
        (tunnel) => {
          l.dialling = false;
          if (this.#closed || this.#links.get(l.id) !== l) tunnel.destroy();
          else this.#attach(l, secure ? this.#tls(l, host, port, tunnel) : tunnel, now);
        },
        () => {
          l.dialling = false;
          this.#failed(l);
          if (!this.#closed && this.#links.get(l.id) === l) this.#opts.onUnreachable(l.id);
        },
      );
      return undefined;
    }
    const socket = secure ? this.#tls(l, host, port) : net.connect({ host, port });
    this.#attach(l, socket, now);
    return socket;
  }

  #tls(l: Link, host: string, port: number, tunnel?: net.Socket): tls.TLSSocket {
    return tls.connect({
      host,
      port,
      ...(tunnel ? { socket: tunnel } : {}),
      // SNI takes a name, never an address; an address is still checked against the
      // certificate's IP SANs.
      ...(net.isIP(host) ? {} : { servername: host }),
      ...(this.#opts.tlsOptions?.(l.url) ?? {}),
    });
  }

  /** Makes `socket` the link's raft stream: the magic first, then what `#flush` writes. */
  #attach(l: Link, socket: net.Socket, opened: number): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.write(RAFT_STREAM_MAGIC);
    let refusal: string | undefined;
    l.unacked = 0;
    const reader = new FrameReader(64 * 1024);
    socket.on('data', (chunk: Buffer) => {
      // Empty frames acknowledge reading; any other is a refusal, once, before the peer ends it.
      try {
        for (const f of reader.push(chunk)) {
          if (f.length === 0) {
            if (l.socket === socket) l.unacked = 0;
          } else refusal ??= parseRefusal(f).details;
        }
      } catch {
        socket.destroy();
      }
    });
    // The close that follows reports it.
    socket.on('error', () => {});
    socket.on('close', () => {
      if (l.socket === socket) l.socket = undefined;
      if (Date.now() - opened >= HEALTHY_CONNECTION_MS) l.failures = 0;
      else this.#failed(l);
      if (this.#closed || this.#links.get(l.id) !== l) return;
      if (refusal?.includes(REMOVED_MESSAGE)) this.#opts.onRemoved();
      else this.#opts.onUnreachable(l.id);
    });
    l.socket = socket;
  }

  /** A connection that failed young: the next dial waits, longer each time. */
  #failed(l: Link): void {
    l.failures++;
    // The ceiling of the shared schedule, without jitter: a few peers, not a crowd of clients.
    l.redialAt = Date.now() + backoffCeiling(l.failures - 1, REDIAL);
  }

  #sendSnapshot(l: Link, m: Message): void {
    if (l.snapshotting || !m.snapshot) {
      // One transfer at a time; the core asks again after it hears how this one went.
      return;
    }
    l.snapshotting = true;
    const index = m.snapshot.metadata.index;
    const opts = this.#opts;
    const clusterId = opts.clusterId;
    async function* chunks(): AsyncIterable<SnapshotChunk> {
      const snap = await opts.openSnapshot(index);
      // The first chunk: the message, and the membership record the snapshot was taken with.
      yield { clusterId, message: toPbMessage(m), data: Buffer.from(snap.membership) };
      let buf: Buffer[] = [];
      let size = 0;
      for await (const c of snap.data) {
        buf.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
        size += c.byteLength;
        if (size >= SNAPSHOT_CHUNK_BYTES) {
          yield { clusterId, message: undefined, data: Buffer.concat(buf) };
          buf = [];
          size = 0;
        }
      }
      if (size > 0) yield { clusterId, message: undefined, data: Buffer.concat(buf) };
    }
    const started = Date.now();
    l.client.sendSnapshot(chunks()).then(
      () => {
        l.snapshotting = false;
        asLogger(opts.log).info(
          `sent snapshot at index ${index} to ${l.id.toString(16)} in ${Date.now() - started} ms`,
          { index, to: l.id.toString(16), took: took(Date.now() - started) },
        );
        if (!this.#closed) opts.onSnapshotSent(l.id, true);
      },
      (err: unknown) => {
        l.snapshotting = false;
        if (this.#closed) return;
        asLogger(opts.log).warn(
          `sending snapshot at index ${index} to ${l.id.toString(16)} failed: ${String(err)}`,
          { index, to: l.id.toString(16) },
        );
        opts.onSnapshotSent(l.id, false);
      },
    );
  }

  close(): void {
    this.#closed = true;
    for (const id of [...this.#links.keys()]) this.removePeer(id);
  }
}
