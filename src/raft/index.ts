/**
 * The consensus core: a pure, deterministic Raft state machine driven by its host (see
 * raw-node.ts for the host contract). No I/O, no timers, no clock, no Math.random.
 */

export { applySimple, decodeConfChange, encodeConfChange, restore as restoreConfig } from './confchange.js';
export * from './errors.js';
export { RaftLog } from './log.js';
export { Unstable } from './log-unstable.js';
export { JointConfig } from './quorum/joint.js';
export { MajorityConfig, type VoteResult } from './quorum/majority.js';
export {
  CAMPAIGN_TRANSFER,
  DEFAULT_MAX_COMMITTED_SIZE_PER_READY,
  DEFAULT_MAX_INFLIGHT_BYTES,
  DEFAULT_MAX_INFLIGHT_MSGS,
  DEFAULT_MAX_SIZE_PER_MSG,
  Raft,
  type RaftConfig,
} from './raft.js';
export { RawNode, type Status } from './raw-node.js';
export { ReadOnly } from './read-only.js';
export { SeededRng } from './rng.js';
export { bootstrapSnapshot, limitSize, MemoryStorage, type Storage } from './storage.js';
export { Inflights } from './tracker/inflights.js';
export { Progress, type ProgressState } from './tracker/progress.js';
export { ProgressTracker } from './tracker/tracker.js';
export * from './types.js';
