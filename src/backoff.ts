/**
 * The one back-off schedule of the SDK and the server: exponential growth with "full jitter"
 * (AWS's name: a uniform draw between zero and the exponential ceiling). Clients that failed
 * together (a member went away under all of them) then come back spread over the whole window
 * instead of in waves at each fixed step, and the mean wait still doubles per attempt.
 *
 * A top-level module importing nothing, so the SDK (client/), the snapshot uploader
 * (storage/) and the raft stream's redial (transport/) share it without reaching into each
 * other.
 */

/** The exponential ceiling of a back-off. */
export interface BackoffOptions {
  /** The ceiling of the first wait (attempt 0), in ms; it doubles with each attempt. */
  baseMs: number;
  /** The ceiling never grows past this, in ms. */
  capMs: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): uniform in
 * [0, min(capMs, baseMs · 2^attempt)). `random` returns [0, 1), as Math.random.
 */
export function fullJitter(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  return random() * backoffCeiling(attempt, o);
}

/** The upper bound of {@link fullJitter}'s draw for `attempt`. */
export function backoffCeiling(attempt: number, o: BackoffOptions): number {
  // 2 ** attempt overflows to Infinity for large attempts; min() caps it either way.
  return Math.min(o.capMs, o.baseMs * 2 ** Math.max(0, attempt));
}
