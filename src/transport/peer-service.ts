/**
 * The receiving side of the peer protocol: batches of Raft messages stepped into the local
 * core, snapshot streams saved then stepped, and the lease calls followers forward to the
 * leader. Anything from another cluster is refused.
 *
 * Raft messages (every append, acknowledgement and heartbeat) arrive on the raft stream, a
 * connection of their own (raft-stream.ts), and are stepped from its 'data' event. The peer
 * service's gRPC `Send` is not served (it answers UNIMPLEMENTED); the cold methods are, on
 * nice-grpc (`PEER_COLD_DEFINITION`).
 */
import type { Duplex } from 'node:stream';
import { ServerError, Status } from 'nice-grpc-common';
import {
  type LeaseTimeToLiveResponse,
  MessageBatch,
  type Message as PbMessage,
  PeerDefinition,
  type PeerServiceImplementation,
} from '../gen/concord/raftpb.js';
import type { Message } from '../raft/index.js';
import { fromPbMessage, PeerProtocolError } from './codec.js';
import { PEER_MAX_MESSAGE_BYTES, REMOVED_MESSAGE } from './peer-transport.js';
import { ACK_FRAME, ACK_INTERVAL_MS, FrameReader, refusalFrame } from './raft-stream.js';

const { send: _send, ...coldMethods } = PeerDefinition.methods;
/** The peer service without `Send` (raft messages travel on the raft stream), for nice-grpc. */
export const PEER_COLD_DEFINITION = { ...PeerDefinition, methods: coldMethods } as const;

export interface PeerHandler {
  readonly clusterId: bigint;
  step(m: Message): void;
  receiveSnapshot(m: PbMessage, membership: Uint8Array, data: AsyncIterable<Uint8Array>): Promise<void>;
  /** Leader only: renews a lease, returning its TTL (0 if gone). */
  leaseRenew(id: bigint): Promise<number>;
  /** Leader only. */
  leaseTimeToLive(id: bigint, keys: boolean): Promise<LeaseTimeToLiveResponse>;
  /** The membership record, for a member joining the cluster. */
  membership(): Uint8Array;
  /** Whether `id` was removed from the cluster (its messages are refused, and it is told so). */
  isRemoved(id: bigint): boolean;
}

function clusterMismatch(h: PeerHandler, clusterId: bigint): string | undefined {
  if (clusterId === h.clusterId) return undefined;
  return `cluster ID mismatch: this member is in ${h.clusterId.toString(16)}, the sender in ${clusterId.toString(16)}`;
}

function checkCluster(h: PeerHandler, clusterId: bigint): void {
  const mismatch = clusterMismatch(h, clusterId);
  if (mismatch) throw new ServerError(Status.FAILED_PRECONDITION, mismatch);
}

/** Why a batch was refused: the status that ends its stream. */
interface Refusal {
  code: Status;
  details: string;
}

/**
 * Checks a batch whole, then steps its messages; nothing of a refused batch is stepped.
 */
function stepBatch(h: PeerHandler, bytes: Uint8Array): Refusal | undefined {
  let msgs: Message[];
  try {
    const b = MessageBatch.decode(bytes);
    const mismatch = clusterMismatch(h, b.clusterId);
    if (mismatch) return { code: Status.FAILED_PRECONDITION, details: mismatch };
    if (h.isRemoved(b.from)) return { code: Status.FAILED_PRECONDITION, details: REMOVED_MESSAGE };
    msgs = b.messages.map((m) => fromPbMessage(m));
  } catch (err) {
    const why = err instanceof PeerProtocolError ? err.message : `concord: bad peer message: ${String(err)}`;
    return { code: Status.INVALID_ARGUMENT, details: why };
  }
  try {
    for (const m of msgs) h.step(m);
  } catch (err) {
    // A message the core refuses must not take the member down from an event handler.
    const why = err instanceof Error ? err.message : String(err);
    return { code: Status.INTERNAL, details: `concord: peer message refused: ${why}` };
  }
  return undefined;
}

/**
 * Serves one raft stream (see raft-stream.ts) on a connection the peer port has handed over,
 * its magic already read. Each frame is stepped as it arrives, and reading is acknowledged (see
 * raft-stream.ts); the first refused frame is answered with its status and the connection
 * ended, and nothing after it is stepped.
 */
export function serveRaftStream(socket: Duplex, h: PeerHandler): void {
  const reader = new FrameReader(PEER_MAX_MESSAGE_BYTES);
  let done = false;
  const refuse = (r: Refusal): void => {
    done = true;
    socket.end(refusalFrame(r.code, r.details));
    // What the sender wrote meanwhile is read and dropped until it closes.
    socket.resume();
  };
  // Every arrival is acknowledged within ACK_INTERVAL_MS: at once, or by one deferred write.
  let acked = 0;
  let deferred: NodeJS.Timeout | undefined;
  const ack = (): void => {
    deferred = undefined;
    acked = Date.now();
    if (!done && socket.writable) socket.write(ACK_FRAME);
  };
  socket.once('close', () => clearTimeout(deferred));
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    const since = Date.now() - acked;
    if (since >= ACK_INTERVAL_MS) ack();
    else deferred ??= setTimeout(ack, ACK_INTERVAL_MS - since).unref();
    let frames: Buffer[];
    try {
      frames = reader.push(chunk);
    } catch (err) {
      return refuse({ code: Status.RESOURCE_EXHAUSTED, details: (err as Error).message });
    }
    for (const f of frames) {
      const refused = stepBatch(h, f);
      if (refused) return refuse(refused);
    }
  });
  // A reset from the sender ends the stream; what arrived was stepped.
  socket.on('error', () => socket.destroy());
}

/** The cold methods of the peer service (every method but `Send`), for nice-grpc. */
export function peerService(h: PeerHandler): Omit<PeerServiceImplementation, 'send'> {
  return {
    async sendSnapshot(chunks) {
      const it = chunks[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || !first.value.message?.snapshot)
        throw new ServerError(Status.INVALID_ARGUMENT, 'a snapshot stream starts with its MsgSnap');
      checkCluster(h, first.value.clusterId);
      async function* rest(): AsyncIterable<Uint8Array> {
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          yield r.value.data;
        }
      }
      try {
        await h.receiveSnapshot(first.value.message, first.value.data, rest());
      } catch (err) {
        if (err instanceof ServerError) throw err;
        // The sender logs this and tries again; a bare error would reach it as UNKNOWN.
        const why = err instanceof Error ? err.message : String(err);
        throw new ServerError(Status.INTERNAL, `concord: snapshot refused: ${why}`);
      }
      return {};
    },

    async leaseRenew(req) {
      checkCluster(h, req.clusterId);
      return { ttl: BigInt(await h.leaseRenew(req.id)) };
    },

    async leaseTimeToLive(req) {
      checkCluster(h, req.clusterId);
      return h.leaseTimeToLive(req.id, req.keys);
    },

    // Open to any caller: a joining member does not know the cluster ID yet.
    async clusterInfo() {
      return { clusterId: h.clusterId, membership: Buffer.from(h.membership()) };
    },
  };
}
