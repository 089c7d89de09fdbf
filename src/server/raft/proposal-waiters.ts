/**
 * The clients waiting on proposals, keyed by the proposal's counter (etcd's pkg/wait): one place
 * for their deadlines, their metrics and their clean-up. A waiter is answered when its entry is
 * applied on this member, failed when its deadline passes, when the leader it was forwarded to
 * goes away, or when the member stops.
 */
import { CanceledError } from '../errors.js';
import type { ServerMetrics } from '../metrics.js';

export interface WaiterFlags {
  /**
   * Membership changes are not failed when the leader changes: removing the leader changes the
   * leader by design, and the change is still applied (the caller waits for it).
   */
  keepOnLeaderChange?: boolean;
  /** Set on a proposal removing this member: a peer telling us we are removed answers it. */
  removesSelf?: boolean;
}

interface Waiter extends WaiterFlags {
  deadline: number;
  resolve: (resp: unknown) => void;
  reject: (err: unknown) => void;
}

export class ProposalWaiters {
  readonly #waiters = new Map<number, Waiter>();
  readonly #metrics: ServerMetrics | undefined;

  constructor(metrics?: ServerMetrics) {
    this.#metrics = metrics;
  }

  get size(): number {
    return this.#waiters.size;
  }

  has(counter: number): boolean {
    return this.#waiters.has(counter);
  }

  /** Registers the waiter for proposal `counter`, failed if not settled by `deadline` (ms). */
  add(counter: number, deadline: number, flags: WaiterFlags = {}): Promise<unknown> {
    this.#metrics?.proposalsPending.inc();
    return new Promise<unknown>((resolve, reject) =>
      this.#waiters.set(counter, { deadline, ...flags, resolve, reject }),
    );
  }

  /** Answers proposal `counter` (if anyone waits for it here) with `resp`, or fails it with `error`. */
  settle(counter: number, resp: unknown, error?: unknown): void {
    const w = this.#take(counter);
    if (!w) return;
    if (error !== undefined) w.reject(error);
    else w.resolve(resp);
  }

  /** Forgets proposal `counter` without answering it (its caller has been told otherwise). */
  drop(counter: number): void {
    this.#take(counter);
  }

  /** Fails every waiter `which` selects with `err`, counting each as a failed proposal. */
  fail(
    err: Error,
    which: (counter: number, w: Readonly<WaiterFlags & { deadline: number }>) => boolean,
  ): void {
    for (const [counter, w] of this.#waiters) {
      if (!which(counter, w)) continue;
      this.#take(counter);
      this.#metrics?.proposalsFailed.inc();
      w.reject(err);
    }
  }

  /** Answers every waiter `which` selects with `resp`. */
  resolveWhere(which: (w: WaiterFlags) => boolean, resp: () => unknown): void {
    for (const [counter, w] of this.#waiters)
      if (which(w)) {
        this.#take(counter);
        w.resolve(resp());
      }
  }

  /**
   * Fails the waiters whose deadline has passed. Deadlines are not in insertion order (a
   * publish waits two election timeouts, a request a whole request timeout), so every waiter
   * is looked at.
   */
  expire(now: number, err: () => Error): void {
    this.fail(err(), (_, w) => w.deadline <= now);
  }

  /** Fails every waiter (the member stops), without counting them as failed proposals. */
  rejectAll(err: Error): void {
    for (const counter of [...this.#waiters.keys()]) this.#take(counter)?.reject(err);
  }

  #take(counter: number): Waiter | undefined {
    const w = this.#waiters.get(counter);
    if (!w) return undefined;
    this.#waiters.delete(counter);
    this.#metrics?.proposalsPending.dec();
    return w;
  }
}

/** `p`, or a CanceledError as soon as `signal` aborts (the proposal itself goes on). */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CanceledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
