/**
 * Coordination recipes built on the public SDK only (leases, prefixes, watches, txns), so they
 * run against etcd as well as Concord. Key layouts follow etcd's Go `concurrency` package
 * where one exists, so Go services and `etcdctl` interoperate with them.
 *
 * @module concord-kv/recipes
 */

export {
  Barrier,
  BarrierTimeoutError,
  barrier,
  DoubleBarrier,
  DoubleBarrierFullError,
  DoubleBarrierLostError,
  type DoubleBarrierOptions,
  doubleBarrier,
  type WaitOptions as BarrierWaitOptions,
} from './barrier.js';
export { Cache, type CacheChange, type CacheEvents, type CacheOptions, cache } from './cache.js';
export { Counter, type CounterCallOptions, CounterValueError, counter } from './counter.js';
export {
  CampaignTimeoutError,
  Election,
  ElectionNotLeaderError,
  type ElectionOptions,
  elect,
  type Leader,
  LeadershipLostError,
  observe,
} from './election.js';
export {
  type AllCondition,
  type AnyCondition,
  type AttributeCondition,
  type EvaluationContext,
  FLAG_TYPES,
  type FlagChange,
  type FlagCondition,
  type FlagDefinition,
  type FlagDetails,
  type FlagdImport,
  type FlagdIssue,
  type FlagEntry,
  type FlagErrorCode,
  type FlagOutcome,
  type FlagReason,
  type FlagRollout,
  type FlagRule,
  type FlagSplit,
  Flags,
  type FlagsAdmin,
  type FlagsEvents,
  type FlagsOptions,
  type FlagType,
  flagProblems,
  flags,
  flagsAdmin,
  fromFlagd,
  InvalidFlagError,
  type JsonValue,
  type NotCondition,
  RULE_OPS,
  type RuleOp,
  rolloutBucket,
  splitVariant,
  validateFlag,
} from './flags.js';
export type { HealthCheckOptions } from './internal/health-check.js';
export type { LeaseHeld } from './internal/held.js';
export type { LeaseOptions, WaitLimits } from './internal/options.js';
export {
  type HeldLock,
  LockLostError,
  type LockOptions,
  LockTimeoutError,
  lock,
  tryLock,
  withLock,
} from './lock.js';
export {
  type DequeueOptions,
  Queue,
  type QueueCallOptions,
  QueueTimeoutError,
  queue,
} from './queue.js';
export {
  type DiscoverOptions,
  discover,
  type InstanceChange,
  type RegisterOptions,
  type Registration,
  RegistrationLostError,
  type RegistryLayout,
  register,
  type ServiceInstance,
  type ServiceMeta,
  ServiceView,
  type ServiceViewEvents,
} from './registry.js';
export {
  type HeldRWLock,
  RWLock,
  type RWLockAcquireOptions,
  RWLockLostError,
  type RWLockMode,
  type RWLockOptions,
  RWLockTimeoutError,
  rwlock,
} from './rwlock.js';
export {
  type AcquireOptions,
  type Permit,
  PermitLostError,
  Semaphore,
  SemaphoreLimitError,
  type SemaphoreOptions,
  SemaphoreTimeoutError,
  semaphore,
} from './semaphore.js';
