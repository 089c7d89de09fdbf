/**
 * src/server — a member: the etcd v3 API services over the state machine, behind the Proposer
 * seam (the RaftProposer: the consensus core, the WAL and the peer transport), the recovery of a
 * data dir, and the listeners.
 */

export { CLUSTER_VERSION, ETCD_VERSION } from './api/maintenance-service.js';
export { WATCH_STREAM_MAX_PENDING } from './api/watch-service.js';
export * from './bootstrap/config.js';
export { type Member, SHUTDOWN_GRACE_MS, startMember } from './bootstrap/member.js';
export {
  LEASE_EXPIRY_CHECK_MS,
  LEASE_REVOKES_PER_CHECK,
  WATCH_SYNC_INTERVAL_MS,
} from './bootstrap/member-clocks.js';
export { type MemberInfo, Node } from './bootstrap/node.js';
export { type RaftRecoveryOptions, RecoveryError, recover } from './bootstrap/recover.js';
export {
  DEFAULT_BUMP_REVISION,
  type RestoreOptions,
  type RestoreResult,
  restoredClusterId,
  restoreSnapshot,
} from './bootstrap/restore.js';
export * from './errors.js';
export { type MetricsSource, ServerMetrics, WAL_FSYNC_BUCKETS } from './metrics.js';
export {
  decodeEntry,
  decodeInternalRequest,
  encodeInternalRequest,
  encodePublishEntry,
  encodeRequestEntry,
  INTERNAL_REQUEST_VERSION,
  type InternalRequest,
  InternalRequestFormatError,
  type WriteKind,
} from './raft/internal-request.js';
export { type MemberRecord, Membership } from './raft/membership.js';
export type { Proposer, RaftStatus } from './raft/proposer.js';
export { RaftProposer, type RaftProposerOptions, type RaftRecovered } from './raft/raft-proposer.js';
export { SNAPSHOT_CATCH_UP_ENTRIES, SNAPSHOTS_KEPT } from './raft/snapshotter.js';
