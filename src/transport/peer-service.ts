/**
 * The receiving side of the peer protocol: batches of Raft messages stepped into the local
 * core, snapshot streams saved then stepped, and the lease calls followers forward to the
 * leader. Anything from another cluster is refused.
 *
 * `Send` (every append, acknowledgement and heartbeat) is a plain grpc-js handler that steps
 * each batch from the stream's 'data' event: nice-grpc's async iteration of a client stream
 * costs several promise hops per message on every hop of every write. The cold methods stay on
 * nice-grpc (`PEER_COLD_DEFINITION`). The wire is the same gRPC method and protobuf either way.
 */
import type {
  Server as GrpcServer,
  ServerReadableStream,
  ServiceDefinition,
  sendUnaryData,
} from '@grpc/grpc-js';
import { ServerError, Status } from 'nice-grpc-common';
import {
  type LeaseTimeToLiveResponse,
  MessageBatch,
  type Message as PbMessage,
  PeerDefinition,
  type PeerServiceImplementation,
  SendResponse,
} from '../gen/concord/raftpb.js';
import type { Message } from '../raft/index.js';
import { fromPbMessage, PeerProtocolError } from './codec.js';
import { PEER_SEND_PATH, REMOVED_MESSAGE } from './peer-transport.js';

const { send: _send, ...coldMethods } = PeerDefinition.methods;
/** The peer service without `Send`, for nice-grpc; `addPeerSend` serves `Send`. */
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

const identity = (b: Buffer): Buffer => b;
const EMPTY_RESPONSE = Buffer.from(SendResponse.encode({}).finish());

/** Serves `Send` on a grpc-js server (the one nice-grpc built for the cold methods). */
export function addPeerSend(server: GrpcServer, h: PeerHandler): void {
  const definition: ServiceDefinition = {
    send: {
      path: PEER_SEND_PATH,
      requestStream: true,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: () => EMPTY_RESPONSE,
      responseDeserialize: () => ({}),
    },
  };
  server.addService(definition, { send: sendHandler(h) });
}

/**
 * Steps each batch as it arrives. The first bad batch ends the stream with its status; later
 * ones are ignored, and nothing of a refused batch is stepped.
 */
function sendHandler(h: PeerHandler) {
  return (call: ServerReadableStream<Buffer, SendResponse>, callback: sendUnaryData<SendResponse>): void => {
    let done = false;
    const finish = (code?: Status, details?: string): void => {
      if (done) return;
      done = true;
      if (code === undefined) callback(null, {});
      else callback({ code, details: details ?? '' });
    };
    call.on('data', (bytes: Buffer) => {
      if (done) return;
      let msgs: Message[];
      try {
        const b = MessageBatch.decode(bytes);
        const mismatch = clusterMismatch(h, b.clusterId);
        if (mismatch) return finish(Status.FAILED_PRECONDITION, mismatch);
        if (h.isRemoved(b.from)) return finish(Status.FAILED_PRECONDITION, REMOVED_MESSAGE);
        msgs = b.messages.map((m) => fromPbMessage(m));
      } catch (err) {
        const why =
          err instanceof PeerProtocolError ? err.message : `concord: bad peer message: ${String(err)}`;
        return finish(Status.INVALID_ARGUMENT, why);
      }
      try {
        for (const m of msgs) h.step(m);
      } catch (err) {
        // A message the core refuses must not take the member down from an event handler.
        finish(
          Status.INTERNAL,
          `concord: peer message refused: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    });
    call.on('end', () => finish());
    // grpc-js 1.14 ends a call the sender cancelled with a destroy without an error (what arrived
    // was stepped, nothing more comes); a version that destroyed it with one must not turn that
    // into an unhandled 'error' event, which would end the member.
    call.on('error', () => finish(Status.CANCELLED, 'peer stream broken'));
  };
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
