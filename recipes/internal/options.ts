import type { Lease } from '../../src/core.js';

/** How a recipe that holds keys on a lease (a lock, a semaphore, an election) gets that lease. */
export interface LeaseOptions {
  /** TTL in seconds of the lease the recipe creates (default 60, as etcd's sessions). */
  ttl?: number;
  /** Hold on this lease instead: the recipe never revokes it. */
  lease?: Lease;
  /**
   * Keep the created lease alive (default true). A serverless function that finishes within
   * `ttl` can turn it off: nothing then runs in the background and what it held frees itself.
   */
  keepAlive?: boolean;
  /** Deadline of each request made on the way (default: the client's). */
  timeoutMs?: number;
}

/** How long a recipe call that waits (to acquire, to be elected, to pass a barrier) may wait. */
export interface WaitLimits {
  /** Aborting stops waiting; nothing stays queued. */
  signal?: AbortSignal;
  /** Give up waiting after this many ms with the recipe's timeout error (default: no limit). */
  waitTimeoutMs?: number;
  /** Deadline of each request made on the way (default: the client's). */
  timeoutMs?: number;
}
