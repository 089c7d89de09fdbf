/**
 * Barriers, on the layouts of etcd's Go recipes (`recipes.Barrier`, `recipes.DoubleBarrier`).
 *
 * `barrier(client, name)`: the key `name` is the barrier. `hold()` puts it, `release()` deletes
 * it, `wait()` blocks while it exists (Curator's `DistributedBarrier`).
 *
 * `doubleBarrier(client, name, count)`: `count` participants meet on entry and on exit
 * (Curator's `DistributedDoubleBarrier`). Each participant puts `name/waiters/<lease hex>-<random>`
 * on its lease; the one whose put makes the count reach `count` puts `name/ready`, which every
 * earlier participant is watching. To leave, the oldest participant waits for the newest to go,
 * every other participant deletes its key and waits for the oldest to go; the last one alone
 * deletes `name/ready` and its key. A participant that crashes loses its lease and its key,
 * so leaving does not hang on it.
 */
import {
  type Client,
  compare,
  EtcdError,
  type Lease,
  type Namespace,
  op,
  type RangeResult,
} from '../src/core.js';
import { codedError } from './internal/errors.js';
import { anySignal, contenderId, nextChange, obtainLease, removeKey } from './internal/leased.js';
import { checkRecipeName, keyOf, sameBytes } from './internal/names.js';
import type { WaitLimits } from './internal/options.js';
import { waitDelete, withDeadline } from './internal/wait.js';

/** `wait()`, `enter()` or `leave()` waited longer than `waitTimeoutMs`. */
export class BarrierTimeoutError extends codedError('barrier-timeout') {}
/** More than `count` participants tried to enter a double barrier at once. */
export class DoubleBarrierFullError extends codedError('double-barrier-full') {}
/** A participant's lease ended (its key is gone) while it waited to enter. */
export class DoubleBarrierLostError extends codedError('double-barrier-lost') {}

/**
 * What `Barrier.wait()` and `DoubleBarrier.enter()`/`leave()` take: `waitTimeoutMs` gives up
 * with `BarrierTimeoutError`.
 */
export interface WaitOptions extends WaitLimits {}

/**
 * A barrier that one process raises and many wait on: while the key `name` exists, `wait()`
 * blocks; deleting it lets every waiter through. Same layout as etcd's Go `recipes.Barrier`.
 * Get one with `barrier()`.
 *
 * @example
 * ```ts
 * import { barrier } from 'concord-kv/recipes';
 * const migration = barrier(client, 'barriers/migration');
 * await migration.hold(); // in the migrating process
 * await migration.wait(); // in every worker: returns once the migration released it
 * ```
 */
export class Barrier {
  /** The barrier's name: the key that is the barrier. */
  readonly name: string;
  readonly #client: Client | Namespace;
  readonly #key: Buffer;

  constructor(client: Client | Namespace, name: string) {
    checkRecipeName('barrier', name);
    this.#client = client;
    this.name = name;
    this.#key = keyOf(name);
  }

  /**
   * Raises the barrier; resolves false if it was already up. Without a lease it stays up until
   * released; on a lease, it also falls when that lease ends (a crashed holder cannot leave
   * everyone waiting).
   */
  async hold(o: { lease?: Lease; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<boolean> {
    const r = await this.#client
      .txn()
      .if(compare.createRevision(this.#key, '==', 0))
      .success(op.put(this.#key, '', o.lease ? { lease: o.lease } : undefined))
      .commit(o);
    return r.succeeded;
  }

  /** Lowers the barrier, letting every waiter through; resolves false if it was not up. */
  async release(o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<boolean> {
    return (await this.#client.delete(this.#key, o)).deleted > 0n;
  }

  /** Whether the barrier is up now. */
  async isHeld(o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<boolean> {
    return (await this.#client.count(this.#key, o)) > 0n;
  }

  /** Resolves once the barrier is down (at once if it is not up). */
  async wait(o: WaitOptions = {}): Promise<void> {
    const r = await this.#client.range(this.#key, { signal: o.signal, timeoutMs: o.timeoutMs });
    if (r.kvs.length === 0) return;
    await withDeadline(
      o.waitTimeoutMs,
      o.signal,
      (signal) => waitDelete(this.#client, this.#key, r.header.revision, signal),
      () => new BarrierTimeoutError(`barrier ${this.name}: still up after ${o.waitTimeoutMs} ms`),
    );
  }
}

/** What `doubleBarrier()` takes. */
export interface DoubleBarrierOptions {
  /** TTL in seconds of the lease `enter()` creates (default 60). */
  ttl?: number;
  /** Participate on this lease instead (never revoked by the barrier). */
  lease?: Lease;
  /** Keep a created lease alive (default true). */
  keepAlive?: boolean;
  /** Deadline of each request (default: the client's). */
  timeoutMs?: number;
}

interface Participant {
  key: Buffer;
  createRevision: bigint;
  lease: Lease;
  ownsLease: boolean;
}

/**
 * A barrier where `count` participants meet twice: `enter()` returns once all have entered,
 * `leave()` once all have left. Same layout as etcd's Go `recipes.DoubleBarrier`. Get one with
 * `doubleBarrier()`.
 *
 * @example
 * ```ts
 * import { doubleBarrier } from 'concord-kv/recipes';
 * await using round = doubleBarrier(client, 'rounds/42', 3);
 * await round.enter(); // all three are here
 * await compute();
 * await round.leave(); // all three are done
 * ```
 */
export class DoubleBarrier {
  /** The barrier's name: its keys are under `name/`. */
  readonly name: string;
  /** How many participants the barrier waits for. */
  readonly count: number;
  readonly #client: Client | Namespace;
  readonly #opts: DoubleBarrierOptions;
  readonly #waiters: Buffer;
  readonly #ready: Buffer;
  #me: Participant | undefined;

  constructor(client: Client | Namespace, name: string, count: number, opts: DoubleBarrierOptions = {}) {
    checkRecipeName('double barrier', name);
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new TypeError(`double barrier count must be a positive integer, got ${String(count)}`);
    }
    this.#client = client;
    this.name = name;
    this.count = count;
    this.#opts = opts;
    this.#waiters = keyOf(`${name}/waiters/`);
    this.#ready = keyOf(`${name}/ready`);
  }

  /** This participant's key while it is in the barrier. */
  get key(): Buffer | undefined {
    return this.#me?.key;
  }

  /**
   * Joins and resolves once `count` participants have joined. Throws `DoubleBarrierFullError`
   * (having left again) if `count` were already in. Aborting or timing out leaves again.
   */
  async enter(o: WaitOptions = {}): Promise<void> {
    if (this.#me) throw new EtcdError(`double barrier ${this.name}: already entered`, { code: 'invalid' });
    const c = this.#client;
    const timeoutMs = o.timeoutMs ?? this.#opts.timeoutMs;
    const { lease, ownsLease } = await obtainLease(c, { ...this.#opts, signal: o.signal, timeoutMs });
    const key = keyOf(this.#waiters, contenderId(lease));
    let me: Participant | undefined;
    try {
      const r = await c
        .txn()
        .success(op.put(key, '', { lease }), op.get({ prefix: this.#waiters }, { countOnly: true }))
        .commit({ signal: o.signal, timeoutMs });
      me = { key, createRevision: r.header.revision, lease, ownsLease };
      const n = (r.responses[1] as RangeResult).count;
      if (n > this.count) {
        throw new DoubleBarrierFullError(
          `double barrier ${this.name}: already ${this.count} participants in`,
        );
      }
      if (n === BigInt(this.count)) {
        await c.put(this.#ready, '', { signal: o.signal, timeoutMs });
      } else {
        await withDeadline(
          o.waitTimeoutMs,
          o.signal,
          (signal) => this.#waitReady(r.header.revision, signal, lease, timeoutMs),
          () =>
            new BarrierTimeoutError(
              `double barrier ${this.name}: fewer than ${this.count} participants after ${o.waitTimeoutMs} ms`,
            ),
        );
      }
    } catch (e) {
      if (me) await removeKey(c, me, timeoutMs).catch(() => {});
      else if (ownsLease) await lease.revoke().catch(() => {});
      else await c.delete(key).catch(() => {});
      throw e;
    }
    this.#me = me;
  }

  /** Waits for a put of `ready` after `rev`: the last participant's arrival. */
  async #waitReady(rev: bigint, signal: AbortSignal | undefined, lease: Lease, timeoutMs?: number) {
    const sig = anySignal(signal, lease.signal);
    try {
      for (;;) {
        if (await nextChange(this.#client, this.#ready, rev, { noDelete: true }, sig)) return;
        // History compacted: look at the key itself.
        const r = await this.#client.range(this.#ready, { signal: sig, timeoutMs });
        if ((r.kvs[0]?.modRevision ?? 0n) > rev) return;
        rev = r.header.revision;
      }
    } catch (e) {
      if (lease.signal.aborted && !signal?.aborted) {
        throw new DoubleBarrierLostError(`double barrier ${this.name}: the lease ended while entering`, {
          cause: lease.signal.reason,
        });
      }
      throw e;
    }
  }

  /**
   * Leaves and resolves once every participant has left. On timeout or abort this participant
   * may still be in the barrier: call `leave()` again, or dispose of it to drop out at once.
   */
  async leave(o: WaitOptions = {}): Promise<void> {
    const me = this.#me;
    if (!me) throw new EtcdError(`double barrier ${this.name}: not entered`, { code: 'invalid' });
    const timeoutMs = o.timeoutMs ?? this.#opts.timeoutMs;
    await withDeadline(
      o.waitTimeoutMs,
      o.signal,
      (signal) => this.#leave(me, signal, timeoutMs),
      () => new BarrierTimeoutError(`double barrier ${this.name}: not all left after ${o.waitTimeoutMs} ms`),
    );
    this.#me = undefined;
    if (me.ownsLease) await me.lease.revoke({ timeoutMs }).catch(() => {});
  }

  async #leave(me: Participant, signal: AbortSignal | undefined, timeoutMs?: number) {
    const c = this.#client;
    for (;;) {
      const r = await c.range(
        { prefix: this.#waiters },
        { sort: { target: 'create', order: 'ascend' }, keysOnly: true, signal, timeoutMs },
      );
      const kvs = r.kvs;
      const lowest = kvs[0];
      const highest = kvs[kvs.length - 1];
      if (!lowest || !highest) return;
      const present = kvs.some((kv) => sameBytes(kv.key, me.key) && kv.createRevision === me.createRevision);
      if (!present) {
        // Out already: wait for the oldest participant, the last to go.
        await waitDelete(c, lowest.key, r.header.revision, signal);
      } else if (kvs.length === 1) {
        // The last one: take down `ready` too.
        await c
          .txn()
          .if(compare.createRevision(me.key, '==', me.createRevision))
          .success(op.delete(this.#ready), op.delete(me.key))
          .commit({ signal, timeoutMs });
        return;
      } else if (sameBytes(lowest.key, me.key)) {
        // The oldest stays until everyone else is gone, newest first.
        await waitDelete(c, highest.key, r.header.revision, signal);
      } else {
        await removeKey(c, { ...me, ownsLease: false }, timeoutMs);
      }
    }
  }

  /** Drops out at once (without waiting for the others): `await using` calls this. */
  async abandon(): Promise<void> {
    const me = this.#me;
    this.#me = undefined;
    if (me) await removeKey(this.#client, me, this.#opts.timeoutMs);
  }

  /** `await using` drops out of the barrier at the end of the block (see `abandon()`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.abandon();
  }
}

/** A handle on the barrier `name` (the key itself). */
export function barrier(client: Client | Namespace, name: string): Barrier {
  return new Barrier(client, name);
}

/** A handle on the double barrier `name` for `count` participants; call `enter()` to join. */
export function doubleBarrier(
  client: Client | Namespace,
  name: string,
  count: number,
  opts: DoubleBarrierOptions = {},
): DoubleBarrier {
  return new DoubleBarrier(client, name, count, opts);
}
