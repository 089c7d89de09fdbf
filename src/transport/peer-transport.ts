/**
 * Messages to peers over streaming gRPC: one long-lived `Send` stream per peer, fed with one
 * batch per `send` (the host sends a Ready's messages in one call), at once: a batch held for
 * the next macrotask would delay every append and acknowledgement by a wake-up; and
 * one `SendSnapshot` stream per snapshot transfer, the snapshot's bytes in chunks.
 *
 * `Send` is written through grpc-js directly (encoded here, handed to the call in the same
 * turn), not through nice-grpc's async-iterable client stream: that pipe cost a queue, an async
 * generator and several promise hops per batch, on each of the four peer hops of a write
 * forwarded by a follower. The colder calls (snapshots, lease forwarding) keep nice-grpc.
 *
 * Delivery is best effort, as Raft expects of its network: a broken stream loses what was in
 * it, the core is told the peer is unreachable and retransmits. A peer that cannot keep up has
 * its queue bounded: beyond it, messages are dropped (and reported) rather than buffered.
 */
import { type ClientWritableStream, Client as GrpcClient } from '@grpc/grpc-js';
import { type Channel, ChannelCredentials, type Client, createChannel, createClient } from 'nice-grpc';
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

/** What a member answers to messages from a member removed from the cluster (etcd's wording). */
export const REMOVED_MESSAGE = 'the member has been permanently removed from the cluster';

/** The gRPC path of the raft message stream (served by peer-service.ts's `addPeerSend`). */
export const PEER_SEND_PATH = `/${PeerDefinition.fullName}/${PeerDefinition.methods.send.name}`;

/** Batches queued to one peer (not yet handed to HTTP/2) beyond which further messages are dropped. */
export const MAX_QUEUED_BATCHES = 4096;
/** Bytes per snapshot chunk on the wire. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** The largest peer message (a batch of entries); grpc-js refuses larger ones. */
export const PEER_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

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
  /** The same channel seen as a plain grpc-js client, for `Send`. */
  raw: GrpcClient;
  stream: ClientWritableStream<Buffer> | undefined;
  pending: PbMessage[];
  snapshotting: boolean;
}

export class PeerTransport {
  readonly #opts: PeerTransportOptions;
  readonly #links = new Map<NodeId, Link>();
  #closed = false;

  constructor(opts: PeerTransportOptions) {
    this.#opts = opts;
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
      raw: new GrpcClient(`${u.hostname}:${u.port}`, credentials, { channelOverride: channel }),
      stream: undefined,
      pending: [],
      snapshotting: false,
    });
  }

  removePeer(id: NodeId): void {
    const l = this.#links.get(id);
    if (!l) return;
    this.#links.delete(id);
    l.stream?.end();
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
      const stream = l.stream ?? this.#open(l);
      if (stream.writableLength >= MAX_QUEUED_BATCHES) {
        this.#opts.onUnreachable(l.id);
        continue;
      }
      const bytes = MessageBatch.encode({
        clusterId: this.#opts.clusterId,
        from: this.#opts.selfId,
        messages,
      }).finish();
      stream.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
  }

  #open(l: Link): ClientWritableStream<Buffer> {
    const call = l.raw.makeClientStreamRequest<Buffer, unknown>(PEER_SEND_PATH, identity, ignore, (err) => {
      if (l.stream === call) l.stream = undefined;
      if (!err || this.#closed) return;
      if (err.message.includes(REMOVED_MESSAGE)) this.#opts.onRemoved();
      else this.#opts.onUnreachable(l.id);
    });
    // The call's status reaches the callback above; a write racing the stream's end must not
    // become an unhandled 'error' event.
    call.on('error', () => {});
    l.stream = call;
    return call;
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

const identity = (b: Buffer): Buffer => b;
const ignore = (): undefined => undefined;
