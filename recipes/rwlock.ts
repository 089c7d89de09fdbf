/**
 * A read-write lock (Curator's `InterProcessReadWriteLock`) on the layout of etcd's Go recipe
 * `recipes.RWMutex`: the lock `name` owns the prefix `name/`; a reader puts
 * `name/read/<lease id hex>-<random>` and a writer `name/write/<lease id hex>-<random>`, each on
 * its lease. Create revisions order everyone in one queue:
 *
 * - a reader holds the lock once no *writer* key is older than its own: readers that queue
 *   between two writers hold it together;
 * - a writer holds it once no key at all is older than its own.
 *
 * So a waiting writer blocks every reader that comes after it: writers are not starved. Each
 * waiter watches one key at a time, the newest of those it waits for (no thundering herd); a
 * writer's release wakes exactly the readers queued right behind it, which all get in.
 *
 * The fencing token is the holder key's create revision: successive writers have strictly
 * increasing tokens, and every reader's token is above that of the writer it followed.
 */
import {
  type Client,
  EtcdError,
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
  obtainLease,
  removeKey,
} from './internal/leased.js';
import { checkRecipeName, keyOf } from './internal/names.js';
import type { LeaseOptions, WaitLimits } from './internal/options.js';
import { waitPredecessors } from './internal/wait.js';

/** Reading is shared with other readers; writing is exclusive. */
export type RWLockMode = 'read' | 'write';

/** What `rwlock()` takes, and what each acquisition may override. */
export interface RWLockOptions extends LeaseOptions {}

/**
 * What `readLock()`, `writeLock()`, `withRead()` and `withWrite()` take: `waitTimeoutMs` gives up
 * with `RWLockTimeoutError`.
 */
export interface RWLockAcquireOptions extends RWLockOptions, WaitLimits {}

/** `readLock()` / `writeLock()` waited longer than `waitTimeoutMs`. */
export class RWLockTimeoutError extends codedError('rwlock-timeout') {}
/** The lock was lost: its lease ended (or its key was deleted) while held or queued. */
export class RWLockLostError extends codedError('rwlock-lost') {}

/** A read or write hold on an `RWLock`, until `release()` or until its lease is lost. */
export interface HeldRWLock extends LeaseHeld<RWLockLostError> {
  /** Whether this is a read or a write hold. */
  readonly mode: RWLockMode;
  /** `<name>/read/…` or `<name>/write/…`. */
  readonly key: Buffer;
  /** The key's create revision (see the module comment). */
  readonly fencingToken: bigint;
}

class HeldRW extends LeasedHold<RWLockLostError> implements HeldRWLock {
  constructor(
    client: Client | Namespace,
    name: string,
    readonly mode: RWLockMode,
    key: Buffer,
    createRevision: bigint,
    lease: Lease,
    ownsLease: boolean,
    timeoutMs: number | undefined,
  ) {
    super(
      client,
      name,
      `${mode} lock of ${name}`,
      key,
      createRevision,
      lease,
      ownsLease,
      {
        lost: (m, cause: LeaseLostError) => new RWLockLostError(m, { cause }),
        released: (m) => new EtcdError(m, { code: 'rwlock-released' }),
      },
      timeoutMs,
    );
  }

  get fencingToken(): bigint {
    return this.createRevision;
  }
}

interface Queued {
  mode: RWLockMode;
  key: Buffer;
  createRevision: bigint;
  lease: Lease;
  ownsLease: boolean;
  free: boolean;
}

type Fn<T> = (ctx: { fencingToken: bigint; signal: AbortSignal; lock: HeldRWLock }) => Promise<T> | T;

/**
 * A read-write lock across processes, compatible with etcd's Go `recipes.RWMutex`: readers
 * share it, a writer holds it alone, and a waiting writer goes before the readers that come
 * after it, so writers are not starved. Get one with `rwlock()`.
 *
 * @example
 * ```ts
 * import { rwlock } from 'concord-kv/recipes';
 * const catalog = rwlock(client, 'catalog');
 * const items = await catalog.withRead(() => loadCatalog());
 * await catalog.withWrite(async ({ fencingToken }) => saveCatalog(next, fencingToken));
 * ```
 */
export class RWLock {
  /** The lock's name: its keys are under `name/`. */
  readonly name: string;
  readonly #client: Client | Namespace;
  readonly #opts: RWLockOptions;
  readonly #prefix: Buffer;
  readonly #read: Buffer;
  readonly #write: Buffer;

  constructor(client: Client | Namespace, name: string, opts: RWLockOptions = {}) {
    checkRecipeName('rwlock', name);
    this.#client = client;
    this.name = name;
    this.#opts = opts;
    this.#prefix = keyOf(`${name}/`);
    this.#read = keyOf(`${name}/read/`);
    this.#write = keyOf(`${name}/write/`);
  }

  /** Waits until no writer is ahead, then holds the lock for reading (shared). */
  readLock(o: RWLockAcquireOptions = {}): Promise<HeldRWLock> {
    return this.#lock('read', o);
  }
  /** Waits until nobody is ahead, then holds the lock for writing (exclusive). */
  writeLock(o: RWLockAcquireOptions = {}): Promise<HeldRWLock> {
    return this.#lock('write', o);
  }
  /** Reads if nobody writes or waits to write now; undefined (holding nothing) otherwise. */
  tryReadLock(o: RWLockOptions & { signal?: AbortSignal } = {}): Promise<HeldRWLock | undefined> {
    return this.#try('read', o);
  }
  /** Writes if nobody holds or waits for the lock now; undefined (holding nothing) otherwise. */
  tryWriteLock(o: RWLockOptions & { signal?: AbortSignal } = {}): Promise<HeldRWLock | undefined> {
    return this.#try('write', o);
  }
  /**
   * Runs `fn` under a read lock and releases it afterwards, also when `fn` throws.
   *
   * @param fn Called with the hold's `fencingToken`, a `signal` that aborts if the hold is lost,
   * and the hold itself (`lock`).
   */
  withRead<T>(fn: Fn<T>, o: RWLockAcquireOptions = {}): Promise<T> {
    return this.#with('read', fn, o);
  }
  /**
   * Runs `fn` under the write lock and releases it afterwards, also when `fn` throws.
   *
   * @param fn Called with the hold's `fencingToken`, a `signal` that aborts if the hold is lost,
   * and the hold itself (`lock`).
   */
  withWrite<T>(fn: Fn<T>, o: RWLockAcquireOptions = {}): Promise<T> {
    return this.#with('write', fn, o);
  }

  async #with<T>(mode: RWLockMode, fn: Fn<T>, o: RWLockAcquireOptions): Promise<T> {
    const held = await this.#lock(mode, o);
    try {
      return await fn({ fencingToken: held.fencingToken, signal: held.signal, lock: held });
    } finally {
      await held.release();
    }
  }

  async #lock(mode: RWLockMode, o: RWLockAcquireOptions): Promise<HeldRWLock> {
    const timeoutMs = o.timeoutMs ?? this.#opts.timeoutMs;
    const q = await this.#enqueue(mode, o, timeoutMs);
    if (!q.free) {
      await awaitTurn(
        this.#client,
        q,
        o,
        timeoutMs,
        (signal) => this.#wait(q, signal, timeoutMs),
        () =>
          new RWLockTimeoutError(`${mode} lock of ${this.name}: not acquired within ${o.waitTimeoutMs} ms`),
      );
    }
    return this.#held(q, timeoutMs);
  }

  async #try(mode: RWLockMode, o: RWLockOptions & { signal?: AbortSignal }) {
    const timeoutMs = o.timeoutMs ?? this.#opts.timeoutMs;
    const q = await this.#enqueue(mode, o, timeoutMs);
    if (q.free) return this.#held(q, timeoutMs);
    await removeKey(this.#client, q, timeoutMs);
    return undefined;
  }

  #held(q: Queued, timeoutMs: number | undefined): HeldRWLock {
    return new HeldRW(
      this.#client,
      this.name,
      q.mode,
      q.key,
      q.createRevision,
      q.lease,
      q.ownsLease,
      timeoutMs,
    );
  }

  async #enqueue(
    mode: RWLockMode,
    o: RWLockOptions & { signal?: AbortSignal },
    timeoutMs: number | undefined,
  ): Promise<Queued> {
    const { lease, ownsLease } = await obtainLease(this.#client, {
      ...leaseChoice(o, this.#opts),
      signal: o.signal,
      timeoutMs,
    });
    const key = keyOf(mode === 'read' ? this.#read : this.#write, contenderId(lease));
    // Our key is the newest: anything the get sees is ahead of us.
    const blockers =
      mode === 'read'
        ? op.get({ prefix: this.#write }, { limit: 1, keysOnly: true })
        : op.get({ prefix: this.#prefix }, { countOnly: true });
    try {
      const r = await this.#client
        .txn()
        .success(op.put(key, '', { lease }), blockers)
        .commit({ signal: o.signal, timeoutMs });
      const seen = r.responses[1] as RangeResult;
      const free = mode === 'read' ? seen.kvs.length === 0 : seen.count === 1n;
      return { mode, key, createRevision: r.header.revision, lease, ownsLease, free };
    } catch (e) {
      if (ownsLease) await lease.revoke().catch(() => {});
      else await this.#client.delete(key).catch(() => {});
      throw e;
    }
  }

  async #wait(q: Queued, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<void> {
    const sig = anySignal(signal, q.lease.signal);
    const lostError = () =>
      new RWLockLostError(`${q.mode} lock of ${this.name}: the waiter's key disappeared`);
    try {
      await waitPredecessors(
        this.#client,
        q.mode === 'read' ? this.#write : this.#prefix,
        q.createRevision - 1n,
        sig,
      );
      const still = await this.#client.get(q.key, { signal: sig, timeoutMs });
      if (!still || still.createRevision !== q.createRevision) throw lostError();
    } catch (e) {
      if (q.lease.signal.aborted && !signal?.aborted && !(e instanceof RWLockLostError)) {
        throw new RWLockLostError(`${q.mode} lock of ${this.name}: the lease ended while waiting`, {
          cause: q.lease.signal.reason,
        });
      }
      throw e;
    }
  }
}

/** A handle on the read-write lock `name`; nothing happens until `readLock()` / `writeLock()`. */
export function rwlock(client: Client | Namespace, name: string, opts: RWLockOptions = {}): RWLock {
  return new RWLock(client, name, opts);
}
