/**
 * Coordination recipes built on the public SDK only (leases, prefixes, watches, txns), so they
 * run against etcd as well as Concord. Key layouts follow etcd's Go `concurrency` package
 * where one exists, so Go services and `etcdctl` interoperate with them.
 */

export {
  CampaignTimeoutError,
  Election,
  type ElectionOptions,
  elect,
  type Leader,
  LeadershipLostError,
  NotLeaderError,
  observe,
} from './election.js';
export {
  type HeldLock,
  LockLostError,
  type LockOptions,
  LockTimeoutError,
  lock,
  tryLock,
  withLock,
} from './lock.js';
