/**
 * The seam between the API services and consensus. A service hands every write to a Proposer
 * and awaits its applied result; before a linearizable read it awaits `readIndex`. The
 * RaftProposer stands behind it (for one member as for five); tests may put a fake there.
 */
import type { AuthInfo, ResponseOf } from '../../mvcc/index.js';
import type { InternalRequest } from './internal-request.js';

/** What response headers and Maintenance.Status report about consensus. */
export interface RaftStatus {
  term: number;
  /** Member ID of the leader, 0n when there is none. */
  leader: bigint;
  /** Index of the last entry in the log (etcd's raft_index). */
  lastIndex: number;
  /** Index of the last entry applied to the state machine. */
  appliedIndex: number;
}

export interface Proposer {
  /**
   * Replicates `req`, applies it, and resolves with the state machine's response once it is
   * durable and applied (an MvccError when the request failed in apply). An aborted signal
   * rejects the call, but a request already proposed may still be applied. `auth`: the
   * client's credentials, checked at apply when auth is on (absent for the server's own).
   */
  propose<R extends InternalRequest>(req: R, signal?: AbortSignal, auth?: AuthInfo): Promise<ResponseOf<R>>;
  /** Resolves once the local state machine reflects every write acknowledged before the call. */
  readIndex(signal?: AbortSignal): Promise<void>;
  status(): RaftStatus;
  /** Why the member stopped serving (its raft loop failed), or undefined while it works. */
  readonly failure: Error | undefined;
  /** Stops accepting proposals, waits for those in flight, releases files. */
  close(): Promise<void>;
}
