/**
 * Linearizable reads, batched (etcd's linearizableReadLoop): every read that arrives while one
 * ReadIndex round is in flight joins the next round, so one round trip to a quorum serves them
 * all. A read is answered once the member has applied up to the index its round returned.
 */
import type { ReadState } from '../../raft/index.js';

interface ReadWaiter {
  deadline: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class ReadIndexBatcher {
  readonly #memberId: bigint;
  /** Reads not yet sent as a ReadIndex. */
  #queued: ReadWaiter[] = [];
  /** Rounds in flight, by context. */
  readonly #inFlight = new Map<number, ReadWaiter[]>();
  /** Rounds answered, waiting for the applied index to reach theirs. */
  #answered: { index: number; waiters: ReadWaiter[] }[] = [];
  #ctx = 0;

  constructor(memberId: bigint) {
    this.#memberId = memberId;
  }

  /** Whether reads are waiting for a round to be sent. */
  get queued(): boolean {
    return this.#queued.length > 0;
  }

  add(deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#queued.push({ deadline, resolve, reject }));
  }

  /** Sends the queued reads as one round; returns the round's context for `readIndex`. */
  flush(): Uint8Array | undefined {
    if (this.#queued.length === 0) return undefined;
    const ctx = ++this.#ctx;
    this.#inFlight.set(ctx, this.#queued);
    this.#queued = [];
    // The leader keys pending reads by context and ignores a duplicate: the context must be
    // unique across members, not just here (two followers' first reads were both "1").
    const b = Buffer.allocUnsafe(16);
    b.writeBigUInt64BE(this.#memberId, 0);
    b.writeDoubleBE(ctx, 8);
    return b;
  }

  /** Rounds the core answered (rounds of other members are ignored). */
  onReadStates(states: ReadState[]): void {
    for (const rs of states) {
      const b = Buffer.from(rs.requestCtx);
      if (b.length !== 16 || b.readBigUInt64BE(0) !== this.#memberId) continue;
      const ctx = b.readDoubleBE(8);
      const ws = this.#inFlight.get(ctx);
      if (!ws) continue;
      this.#inFlight.delete(ctx);
      this.#answered.push({ index: rs.index, waiters: ws });
    }
  }

  /** Answers the reads whose index is applied. */
  serve(applied: number): void {
    if (this.#answered.length === 0) return;
    const keep: { index: number; waiters: ReadWaiter[] }[] = [];
    for (const r of this.#answered) {
      if (r.index <= applied) for (const w of r.waiters) w.resolve();
      else keep.push(r);
    }
    this.#answered = keep;
  }

  /** The leader changed: rounds sent to the old one may never be answered, so they go again. */
  resend(): void {
    for (const ws of this.#inFlight.values()) this.#queued.push(...ws);
    this.#inFlight.clear();
  }

  /** Fails the reads whose deadline has passed, wherever they are. */
  expire(now: number, err: () => Error): void {
    const late = (w: ReadWaiter) => {
      if (w.deadline > now) return false;
      w.reject(err());
      return true;
    };
    this.#queued = this.#queued.filter((w) => !late(w));
    for (const [ctx, ws] of this.#inFlight) {
      const left = ws.filter((w) => !late(w));
      if (left.length === 0) this.#inFlight.delete(ctx);
      else this.#inFlight.set(ctx, left);
    }
    for (const r of this.#answered) r.waiters = r.waiters.filter((w) => !late(w));
  }

  rejectAll(err: Error): void {
    for (const w of this.#queued) w.reject(err);
    this.#queued = [];
    for (const ws of this.#inFlight.values()) for (const w of ws) w.reject(err);
    this.#inFlight.clear();
    for (const r of this.#answered) for (const w of r.waiters) w.reject(err);
    this.#answered = [];
  }
}
