/**
 * The receiving side of the peer protocol: batches of Raft messages stepped into the local
 * core, snapshot streams saved then stepped, and the lease calls followers forward to the
 * leader. Anything from another cluster is refused.
 */
import { ServerError, Status } from 'nice-grpc-common';
import type {
  LeaseTimeToLiveResponse,
  Message as PbMessage,
  PeerServiceImplementation,
} from '../gen/concord/raftpb.js';
import type { Message } from '../raft/index.js';
import { fromPbMessage, PeerProtocolError } from './codec.js';
import { REMOVED_MESSAGE } from './peer-transport.js';

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

function checkCluster(h: PeerHandler, clusterId: bigint): void {
  if (clusterId !== h.clusterId)
    throw new ServerError(
      Status.FAILED_PRECONDITION,
      `cluster ID mismatch: this member is in ${h.clusterId.toString(16)}, the sender in ${clusterId.toString(16)}`,
    );
}

export function peerService(h: PeerHandler): PeerServiceImplementation {
  return {
    async send(batches) {
      for await (const b of batches) {
        checkCluster(h, b.clusterId);
        if (h.isRemoved(b.from)) throw new ServerError(Status.FAILED_PRECONDITION, REMOVED_MESSAGE);
        for (const m of b.messages) {
          let msg: Message;
          try {
            msg = fromPbMessage(m);
          } catch (err) {
            if (err instanceof PeerProtocolError) throw new ServerError(Status.INVALID_ARGUMENT, err.message);
            throw err;
          }
          h.step(msg);
        }
      }
      return {};
    },

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
      await h.receiveSnapshot(first.value.message, first.value.data, rest());
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
