/**
 * The client-facing gRPC server: etcd's services on nice-grpc, behind one middleware
 * (call-middleware.ts) that counts each call and turns every error into etcd's status (code + exact message) and enforces the receive limit with
 * grpc-go's wording. On the client port a message declaring more than the limit is refused
 * from its prefix (grpc-hygiene.ts, which gets the limits through setGrpcLimits); requests are
 * also measured as they are decoded. grpc-js would reject an oversized message itself, but with
 * its own words, so its limit is only a memory backstop set above ours.
 *
 * A unary or server-streaming request that does not decode is INTERNAL `grpc: error
 * unmarshalling request: …`, grpc-go's words (grpc-js: `Error deserializing request`, the same
 * code, which request streams keep), refused before the metrics count it.
 */
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { createServer, type Server } from 'nice-grpc';
import {
  AuthDefinition,
  ClusterDefinition,
  KVDefinition,
  LeaseDefinition,
  MaintenanceDefinition,
  WatchDefinition,
} from '../../gen/etcdserverpb/rpc.js';
import { ElectionDefinition } from '../../gen/v3electionpb/v3election.js';
import { LockDefinition } from '../../gen/v3lockpb/v3lock.js';
import { GRPC_OVERHEAD_BYTES } from '../bootstrap/config.js';
import type { Node } from '../bootstrap/node.js';
import { MessageTooLargeError } from '../errors.js';
import { authService } from './auth-service.js';
import { callMiddleware, Undecodable } from './call-middleware.js';
import { clusterService } from './cluster-service.js';
import { electionService } from './election-service.js';
import { setGrpcLimits } from './grpc-hygiene.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';
import { lockService } from './lock-service.js';
import { maintenanceService } from './maintenance-service.js';
import { ReusedWriter } from './reused-writer.js';
import { watchService } from './watch-service.js';
import { watchDefinition } from './watch-wire.js';

/** How far above our limit grpc-js may buffer a message before refusing it on its own. */
export const GRPC_BACKSTOP_BYTES = 4 * 1024 * 1024;

/** Messages decoded above the limit, with their size (keyed by the decoded object). */
type Oversized = WeakMap<object, number>;

interface MethodLike {
  name: string;
  requestStream: boolean;
  requestType: { decode(input: Uint8Array, length?: number): unknown };
  responseType: {
    fromPartial?(object: never): unknown;
    encode(message: never, writer?: BinaryWriter): { finish(): Uint8Array };
  };
}
interface DefinitionLike {
  name: string;
  fullName: string;
  methods: Record<string, MethodLike>;
}

/**
 * The same definition whose request decoders note messages larger than `limit` bytes, and,
 * for a call that takes one request, return an Undecodable (for the middleware to refuse)
 * instead of throwing. A request stream's undecodable message is still grpc-js's to refuse
 * (INTERNAL, its words): a handler may end quietly on an error from its request stream.
 */
function measured<D extends DefinitionLike>(
  def: D,
  limit: number,
  oversized: Oversized,
  complete: readonly (keyof D['methods'])[] = [],
  writer?: ReusedWriter,
): D {
  const methods: Record<string, MethodLike> = {};
  for (const [key, m] of Object.entries(def.methods)) {
    const decode = m.requestType.decode.bind(m.requestType);
    methods[key] = {
      ...m,
      // nice-grpc writes a response as encode(fromPartial(r)): a deep copy of every kv, op and
      // header. These methods answer with complete messages of their type (what the state
      // machine returns, typed as such), which encode as they are, into a writer kept across
      // calls (reused-writer.ts).
      ...(complete.includes(key)
        ? {
            responseType: {
              ...m.responseType,
              fromPartial: undefined,
              ...(writer && { encode: writer.encoder(m.responseType.encode) }),
            },
          }
        : {}),
      requestType: {
        ...m.requestType,
        decode(input: Uint8Array, length?: number) {
          let msg: unknown;
          try {
            msg = decode(input, length);
          } catch (err) {
            if (m.requestStream) throw err;
            const text = err instanceof Error ? err.message : String(err);
            return new Undecodable(text === 'premature EOF' ? 'unexpected EOF' : `proto: ${text}`);
          }
          if (input.length > limit && typeof msg === 'object' && msg !== null)
            oversized.set(msg, input.length);
          return msg;
        },
      },
    };
  }
  return { ...def, methods } as D;
}

export function createGrpcServer(node: Node): Server {
  const limit = node.config.maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const oversized: Oversized = new WeakMap();
  const check = (msg: unknown) => {
    const size = typeof msg === 'object' && msg !== null ? oversized.get(msg) : undefined;
    if (size !== undefined) throw new MessageTooLargeError(size, limit);
  };
  // Certificates name users only under --client-cert-auth (member.ts records them only then):
  // without it, no call pays for parsing its peer address.
  const certAuth = node.config.clientTls?.clientCertAuth === true;
  const server = createServer({
    'grpc.max_receive_message_length': limit + GRPC_BACKSTOP_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    // channelz bookkeeping runs on every call and shows in profiles; nothing here reads it.
    'grpc.enable_channelz': 0,
    // etcd's --grpc-keepalive-interval / -timeout / -min-time.
    'grpc.keepalive_time_ms': node.config.grpcKeepaliveIntervalMs,
    'grpc.keepalive_timeout_ms': node.config.grpcKeepaliveTimeoutMs,
    'grpc.http2.min_ping_interval_without_data_ms': node.config.grpcKeepaliveMinTimeMs,
    'grpc.keepalive_permit_without_calls': 1,
  }).use(callMiddleware(node, { certAuth, check }));
  const definitions = [
    KVDefinition,
    WatchDefinition,
    LeaseDefinition,
    ClusterDefinition,
    MaintenanceDefinition,
    LockDefinition,
    ElectionDefinition,
    AuthDefinition,
  ];
  node.metrics.initializeGrpc(definitions);
  setGrpcLimits(server, {
    maxReceiveBytes: limit,
    // etcd's --grpc-keepalive-timeout: how long a peer may not answer.
    stallTimeoutMs: node.config.grpcKeepaliveTimeoutMs,
    singleRequestPaths: new Set(
      definitions.flatMap((d) =>
        Object.values(d.methods as Record<string, MethodLike>)
          .filter((m) => !m.requestStream)
          .map((m) => `/${d.fullName}/${m.name}`),
      ),
    ),
  });
  const writer = new ReusedWriter();
  server.add(
    measured(KVDefinition, limit, oversized, ['range', 'put', 'deleteRange', 'txn', 'compact'], writer),
    kvService(node),
  );
  // Shared watch batches go out as the bytes encoded once for every watcher (watch-wire.ts).
  server.add(measured(watchDefinition, limit, oversized), watchService(node));
  server.add(
    measured(LeaseDefinition, limit, oversized, ['leaseGrant', 'leaseRevoke'], writer),
    leaseService(node),
  );
  server.add(measured(ClusterDefinition, limit, oversized), clusterService(node));
  server.add(measured(MaintenanceDefinition, limit, oversized), maintenanceService(node));
  server.add(measured(LockDefinition, limit, oversized), lockService(node));
  server.add(measured(ElectionDefinition, limit, oversized), electionService(node));
  server.add(measured(AuthDefinition, limit, oversized), authService(node));
  return server;
}
