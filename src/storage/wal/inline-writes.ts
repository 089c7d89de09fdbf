/**
 * Whether the WAL writes its next batch on the event loop itself or on the threadpool.
 *
 * A threadpool write costs two thread hand-offs (the loop wakes a pool thread, the pool thread
 * wakes the loop) on top of the disk's own time. On a fast disk those hand-offs are a large part
 * of a sequential put: one 349-byte O_DSYNC append took 131 µs written inline against 184-207 µs
 * through fs/promises on the 2-core machine of issue 17. Written inline, a put is proposed,
 * made durable, applied and answered without leaving the event loop's turn.
 *
 * The price is that nothing else runs while the disk works, so it is paid only while the disk
 * is fast: inline while the recent average write (an exponentially weighted mean over about the
 * last five writes, inline or not) is under `limitMs`, and only for batches up to `maxBytes`.
 * A slow write (a journal commit, a busy device) lifts the average at once and sends the next
 * batches to the threadpool, where the loop keeps serving reads, watches and heartbeats; a few
 * fast writes there bring it back. etcd's raft loop blocks on its fsync the same way, but Go's
 * other goroutines keep running, which is why a slow disk must not hold ours.
 */

/** Default: inline while the recent average write takes under 1 ms. */
export const INLINE_WRITE_LIMIT_MS = 1;
/** Batches above this size go to the threadpool: their write time grows with their size. */
export const INLINE_WRITE_MAX_BYTES = 64 * 1024;
/** Weight of the newest write in the average. */
const WEIGHT = 0.2;

export class InlineWrites {
  readonly #limitMs: number;
  readonly #maxBytes: number;
  /** Recent average write time; starts at 0 so the first writes go inline. */
  #averageMs = 0;

  /** `limitMs` 0 never writes inline. */
  constructor(limitMs = INLINE_WRITE_LIMIT_MS, maxBytes = INLINE_WRITE_MAX_BYTES) {
    if (!(limitMs >= 0)) throw new RangeError(`wal: inline write limit must be ≥ 0 ms, got ${limitMs}`);
    this.#limitMs = limitMs;
    this.#maxBytes = maxBytes;
  }

  /** Whether a batch of `bytes` is written inline. */
  inline(bytes: number): boolean {
    return this.#averageMs < this.#limitMs && bytes <= this.#maxBytes;
  }

  /** Records how long a write took (either way), in milliseconds. */
  took(ms: number): void {
    this.#averageMs += WEIGHT * (ms - this.#averageMs);
  }

  get averageMs(): number {
    return this.#averageMs;
  }
}
