import type { CompareSpec, EtcdError, Lease } from '../../src/core.js';

/**
 * Something a recipe holds on a lease (a lock, a read or write hold, a permit) until `release()`
 * or until its lease is lost. `LostError` is the recipe's own error for the loss.
 */
export interface LeaseHeld<LostError extends EtcdError> {
  /** The recipe's name, as given when it was made. */
  readonly name: string;
  /** The lease the hold's key is attached to. */
  readonly lease: Lease;
  /** Aborts when released or lost. */
  readonly signal: AbortSignal;
  /** Resolves (never rejects) with `LostError` if the lease is lost while held. */
  readonly lost: Promise<LostError>;
  /** A compare that holds only while this is held by this holder: guard writes with it. */
  guard(): CompareSpec;
  /**
   * Gives the hold back: its key is deleted (and its lease revoked, when the recipe created it),
   * so the waiters it was blocking get in at once. Idempotent.
   */
  release(): Promise<void>;
  /** `await using held = await …` releases the hold at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>;
}
