/**
 * src/server — a member: the etcd v3 API services over the state machine, behind the Proposer
 * seam (one member today: LocalProposer; Raft replication slots in behind the same interface),
 * the recovery of a data dir, and the listeners.
 */
export * from './config.js';
export * from './errors.js';
export {
  decodeInternalRequest,
  encodeInternalRequest,
  INTERNAL_REQUEST_VERSION,
  type InternalRequest,
  InternalRequestFormatError,
  type WriteKind,
} from './internal-request.js';
export {
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_SNAPSHOT_COUNT,
  LocalProposer,
  type LocalProposerOptions,
  SNAPSHOTS_KEPT,
} from './local-proposer.js';
export { CLUSTER_VERSION, ETCD_VERSION } from './maintenance-service.js';
export { type Member, SHUTDOWN_GRACE_MS, startMember } from './member.js';
export { type MetricsSource, ServerMetrics, WAL_FSYNC_BUCKETS } from './metrics.js';
export {
  LEASE_EXPIRY_CHECK_MS,
  LEASE_REVOKES_PER_CHECK,
  type MemberInfo,
  Node,
  WATCH_SYNC_INTERVAL_MS,
} from './node.js';
export type { Proposer, RaftStatus } from './proposer.js';
export { type RecoveredState, RecoveryError, recover } from './recover.js';
export { WATCH_STREAM_MAX_PENDING } from './watch-service.js';
