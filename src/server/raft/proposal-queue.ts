/**
 * This member's proposals on their way to the core. Each gets a counter (the low part of its
 * request ID, after the member's prefix) and a waiter answered when its entry is applied here;
 * it waits in the queue until a leader is known and the loop hands the turn's whole batch to
 * the core as one MsgProp.
 */
import type { RawNode } from '../../raft/index.js';
import type { ServerMetrics } from '../metrics.js';
import { ProposalWaiters, type WaiterFlags } from './proposal-waiters.js';

interface Queued {
  counter: number;
  data: Uint8Array;
}

export class ProposalQueue {
  readonly waiters: ProposalWaiters;
  /** This member's proposal prefix (from its ID): entries carrying it were proposed here. */
  readonly prefix: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #counter: number;
  /** Proposals not yet handed to the core (no leader known yet, or waiting for the next turn). */
  #queue: Queued[] = [];

  constructor(memberId: bigint, timeoutMs: number, now: () => number, metrics?: ServerMetrics) {
    this.waiters = new ProposalWaiters(metrics);
    this.prefix = Number(memberId & 0xffffn);
    this.#timeoutMs = timeoutMs;
    this.#now = now;
    // Start the counter from the clock so IDs of this run never meet a previous run's.
    this.#counter = (now() % 2 ** 40) * 256;
  }

  get queued(): boolean {
    return this.#queue.length > 0;
  }

  /** A new proposal's counter. */
  next(): number {
    return ++this.#counter;
  }

  /** Registers the waiter for proposal `counter`: answered when its entry is applied here. */
  wait(counter: number, flags: WaiterFlags & { timeoutMs?: number } = {}): Promise<unknown> {
    const { timeoutMs = this.#timeoutMs, ...rest } = flags;
    return this.waiters.add(counter, this.#now() + timeoutMs, rest);
  }

  push(counter: number, data: Uint8Array): void {
    this.#queue.push({ counter, data });
  }

  /** Hands the queued proposals to the core as one batch. */
  feed(raw: RawNode): void {
    if (this.#queue.length === 0) return;
    const q = this.#queue;
    this.#queue = [];
    try {
      raw.proposeBatch(q.map((x) => x.data));
    } catch {
      // Dropped (a leadership transfer is under way): retried on a later turn until the deadline.
      this.#queue = q.concat(this.#queue);
    }
  }

  /** Fails every proposal already handed to the core (those still queued wait for the new leader). */
  failInFlight(err: Error): void {
    const queued = new Set(this.#queue.map((q) => q.counter));
    this.waiters.fail(err, (counter, w) => !queued.has(counter) && !w.keepOnLeaderChange);
  }

  /** Fails the proposals past their deadline; those still queued are not proposed any more. */
  expire(now: number, err: () => Error): void {
    this.waiters.expire(now, err);
    if (this.#queue.length > 0) this.#queue = this.#queue.filter((q) => this.waiters.has(q.counter));
  }

  rejectAll(err: Error): void {
    this.waiters.rejectAll(err);
    this.#queue = [];
  }
}
