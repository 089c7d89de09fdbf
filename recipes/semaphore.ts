/**
 * A counting semaphore (Curator's `InterProcessSemaphoreV2`) on etcd primitives. The semaphore
 * `name` owns the prefix `name/` and the key `name`:
 *
 * - `name` holds the limit (a decimal number). The first `acquire()` stores it; every later one
 *   checks, in the same transaction that queues it, that the stored limit is its own, and fails
 *   with `SemaphoreLimitError` otherwise. All users therefore agree on one limit. The key is
 *   not on a lease: it outlives the holders. To change the limit, delete `name` while nobody
 *   holds or waits.
 * - Each contender puts `name/<lease id hex>-<random>` on its lease. A contender holds a permit
 *   when fewer than `limit` keys under `name/` have a lower create revision. Keys only ever join
 *   at the end of that order, so once admitted a holder stays admitted until it releases, and at
 *   any moment at most `limit` keys are admitted: the limit holds under any race.
 *
 * No thundering herd: the first waiter (exactly `limit` keys ahead of it) watches deletions
 * under the prefix, since any of them admits it; every later waiter watches only the key right
 * ahead of it, which changes when that waiter is admitted (it marks its key `held`) or leaves.
 */
import {
  type Client,
  compare,
  EtcdError,
  type KeyValue,
  type Lease,
  type LeaseLostError,
  type Namespace,
  op,
  type RangeResult,
} from '../src/core.js';
import { codedError } from './internal/errors.js';
import type { LeaseHeld } from './internal/held.js';
import {
  anySignal,
  awaitTurn,
  contenderId,
  LeasedHold,
  leaseChoice,
  nextChange,
  obtainLease,
  removeKey,
} from './internal/leased.js';
import { checkRecipeName, keyOf } from './internal/names.js';
import type { LeaseOptions, WaitLimits } from './internal/options.js';

/** What `semaphore()` takes. */
export interface SemaphoreOptions extends LeaseOptions {
  /** How many permits exist. Every user of the semaphore must pass the same limit. */
  limit: number;
}

/**
 * What `acquire()`, `tryAcquire()` and `withPermit()` take: each lease option overrides the
 * semaphore's for this permit, and `waitTimeoutMs` gives up with `SemaphoreTimeoutError`.
 */
export interface AcquireOptions extends LeaseOptions, WaitLimits {}

/** `acquire()` waited longer than `waitTimeoutMs`. */
export class SemaphoreTimeoutError extends codedError('semaphore-timeout') {}
/** The permit (or the place in the queue) was lost: its lease ended or its key was deleted. */
export class PermitLostError extends codedError('permit-lost') {}
/** The limit stored for the semaphore differs from the one this user passed. */
export class SemaphoreLimitError extends codedError('semaphore-limit-mismatch') {}

/** One of a semaphore's permits, held until `release()` or until its lease is lost. */
export interface Permit extends LeaseHeld<PermitLostError> {
  /** The permit's key, `<name>/<lease id hex>-<random>`. */
  readonly key: Buffer;
  /** The key's create revision (unique; later permits have higher ones). */
  readonly createRevision: bigint;
}

interface Queued {
  key: Buffer;
  createRevision: bigint;
  lease: Lease;
  ownsLease: boolean;
  admitted: boolean;
}

/**
 * A counting semaphore: at most `limit` holders at a time, across processes. Get one with
 * `semaphore()`; every user of a name must agree on its limit. Waiters are admitted in the
 * order they queued.
 *
 * @example
 * ```ts
 * import { semaphore } from 'concord-kv/recipes';
 * const downloads = semaphore(client, 'downloads', { limit: 4 });
 * await downloads.withPermit(async ({ signal }) => fetchBig(url, { signal }));
 * ```
 */
export class Semaphore {
  /** The semaphore's name: its keys are `name` (the limit) and `name/…` (the holders and waiters). */
  readonly name: string;
  /** How many permits exist. */
  readonly limit: number;
  readonly #client: Client | Namespace;
  readonly #opts: SemaphoreOptions;
  readonly #prefix: Buffer;
  readonly #meta: Buffer;

  constructor(client: Client | Namespace, name: string, opts: SemaphoreOptions) {
    checkRecipeName('semaphore', name);
    if (!Number.isSafeInteger(opts?.limit) || opts.limit < 1) {
      throw new TypeError(`semaphore limit must be a positive integer, got ${String(opts?.limit)}`);
    }
    this.#client = client;
    this.name = name;
    this.limit = opts.limit;
    this.#opts = opts;
    this.#prefix = keyOf(`${name}/`);
    this.#meta = keyOf(name);
  }

  /** Waits for a permit and resolves once it is held. */
  async acquire(o: AcquireOptions = {}): Promise<Permit> {
    const timeoutMs = o.timeoutMs ?? this.#opts.timeoutMs;
    const q = await this.#enqueue(o, timeoutMs);
    if (!q.admitted) {
      await awaitTurn(
        this.#client,
        q,
        o,
        timeoutMs,
        (signal) => this.#wait(q, signal, timeoutMs),
        () => new SemaphoreTimeoutError(`semaphore ${this.name}: no permit within ${o.waitTimeoutMs} ms`),
      );
    }
    return this.#permit(q, timeoutMs);
  }

  /** Takes a permit if one is free now; resolves undefined (holding nothing) otherwise. */
  async tryAcquire(o: Omit<AcquireOptions, 'waitTimeoutMs'> = {}): Promise<Permit | undefined> {
    const timeoutMs = o.timeoutMs ?? this.#opts.timeoutMs;
    const q = await this.#enqueue(o, timeoutMs);
    if (q.admitted) return this.#permit(q, timeoutMs);
    await removeKey(this.#client, q, timeoutMs);
    return undefined;
  }

  /**
   * Runs `fn` while holding a permit and releases it afterwards, also when `fn` throws. `fn`'s
   * signal aborts if the permit is lost before it finishes.
   */
  async withPermit<T>(
    fn: (ctx: { signal: AbortSignal; permit: Permit }) => Promise<T> | T,
    o: AcquireOptions = {},
  ): Promise<T> {
    const permit = await this.acquire(o);
    try {
      return await fn({ signal: permit.signal, permit });
    } finally {
      await permit.release();
    }
  }

  /** The keys currently holding permits (at most `limit`), oldest first. */
  async holders(o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<KeyValue[]> {
    const r = await this.#client.range(
      { prefix: this.#prefix },
      { sort: { target: 'create', order: 'ascend' }, limit: this.limit, ...o },
    );
    return r.kvs;
  }

  /** The limit stored in etcd, or undefined before the first `acquire()`. */
  async storedLimit(o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<number | undefined> {
    const v = await this.#client.getString(this.#meta, o);
    return v === undefined ? undefined : Number(v);
  }

  async #enqueue(o: AcquireOptions, timeoutMs: number | undefined): Promise<Queued> {
    const { lease, ownsLease } = await obtainLease(this.#client, {
      ...leaseChoice(o, this.#opts),
      signal: o.signal,
      timeoutMs,
    });
    const key = keyOf(this.#prefix, contenderId(lease));
    const limit = String(this.limit);
    try {
      for (;;) {
        // Queue only if the stored limit is ours; count the queue as of our own put.
        const r = await this.#client
          .txn()
          .if(compare.value(this.#meta, '==', limit))
          .success(op.put(key, '', { lease }), op.get({ prefix: this.#prefix }, { countOnly: true }))
          .failure(op.get(this.#meta))
          .commit({ signal: o.signal, timeoutMs });
        if (r.succeeded) {
          const count = (r.responses[1] as RangeResult).count;
          return { key, createRevision: r.header.revision, lease, ownsLease, admitted: count <= this.limit };
        }
        const stored = (r.responses[0] as RangeResult).kvs[0];
        if (stored) {
          throw new SemaphoreLimitError(
            `semaphore ${this.name} has limit ${stored.text()} stored in etcd; this user passed ${limit}`,
          );
        }
        // First use: store the limit (unless another user just did), then queue.
        await this.#client
          .txn()
          .if(compare.createRevision(this.#meta, '==', 0))
          .success(op.put(this.#meta, limit))
          .commit({ signal: o.signal, timeoutMs });
      }
    } catch (e) {
      // The put may have applied even if its answer was lost: remove whatever we may have left.
      if (ownsLease) await lease.revoke().catch(() => {});
      else await this.#client.delete(key).catch(() => {});
      throw e;
    }
  }

  /** Waits until fewer than `limit` keys are ahead of ours. */
  async #wait(q: Queued, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<void> {
    const c = this.#client;
    // Losing the lease while queued ends the wait too.
    const sig = anySignal(signal, q.lease.signal);
    try {
      for (;;) {
        sig?.throwIfAborted();
        const r = await c
          .txn()
          .success(
            op.get(q.key),
            op.get(
              { prefix: this.#prefix },
              {
                maxCreateRevision: q.createRevision - 1n,
                sort: { target: 'create', order: 'descend' },
                limit: this.limit + 1,
                keysOnly: true,
              },
            ),
          )
          .commit({ signal: sig, timeoutMs });
        const mine = (r.responses[0] as RangeResult).kvs[0];
        if (!mine || mine.createRevision !== q.createRevision) {
          throw new PermitLostError(`semaphore ${this.name}: the waiter's key disappeared (lease expired?)`);
        }
        const ahead = (r.responses[1] as RangeResult).kvs;
        if (ahead.length < this.limit) {
          // Admitted. Mark the key: the waiter right behind watches it, and moves up on this put.
          const m = await c
            .txn()
            .if(compare.createRevision(q.key, '==', q.createRevision))
            .success(op.put(q.key, 'held', { ignoreLease: true }))
            .commit({ signal: sig, timeoutMs });
          if (!m.succeeded) {
            throw new PermitLostError(
              `semaphore ${this.name}: the waiter's key disappeared (lease expired?)`,
            );
          }
          return;
        }
        if (ahead.length === this.limit) {
          // First in line: any release ahead admits us.
          await nextChange(c, { prefix: this.#prefix }, r.header.revision, { noPut: true }, sig);
        } else {
          // Further back: nothing changes for us before the key right ahead is admitted or leaves.
          await nextChange(c, ahead[0]!.key, r.header.revision, undefined, sig);
        }
      }
    } catch (e) {
      if (q.lease.signal.aborted && !signal?.aborted && !(e instanceof PermitLostError)) {
        throw new PermitLostError(`semaphore ${this.name}: the lease ended while waiting`, {
          cause: q.lease.signal.reason,
        });
      }
      throw e;
    }
  }

  #permit(q: Queued, timeoutMs: number | undefined): Permit {
    return new LeasedHold<PermitLostError>(
      this.#client,
      this.name,
      `permit of semaphore ${this.name}`,
      q.key,
      q.createRevision,
      q.lease,
      q.ownsLease,
      {
        lost: (m, cause: LeaseLostError) => new PermitLostError(m, { cause }),
        released: (m) => new EtcdError(m, { code: 'permit-released' }),
      },
      timeoutMs,
    );
  }
}

/** A handle on the semaphore `name` with `limit` permits; nothing happens until `acquire()`. */
export function semaphore(client: Client | Namespace, name: string, opts: SemaphoreOptions): Semaphore {
  return new Semaphore(client, name, opts);
}
