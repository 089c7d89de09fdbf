/**
 * A distributed mutex with fencing tokens, on etcd's own layout: the lock `name` owns the
 * prefix `name/`; each contender puts `name/<lease id in hex>` attached to its lease and holds
 * the lock when its key has the lowest create revision under the prefix. This is what Go's
 * `concurrency.Mutex` and `etcdctl lock` do, so all three exclude each other.
 *
 * Waiters queue by create revision and each watches only its direct predecessor. The fencing
 * token is the create revision of the holder's key: it strictly increases from one holder to
 * the next, so a resource that remembers the highest token it has seen can refuse a paused
 * holder that wakes up after its lease expired (`lock.guard()` does that for etcd itself).
 */
import { type Client, compare, EtcdError, type Lease, type Namespace, op } from '../src/core.js';
import { codedError } from './internal/errors.js';
import type { LeaseHeld } from './internal/held.js';
import { hex, LeasedHold, obtainLease, removeKey } from './internal/leased.js';
import { checkRecipeName, keyOf } from './internal/names.js';
import type { LeaseOptions, WaitLimits } from './internal/options.js';
import { waitPredecessors, withDeadline } from './internal/wait.js';

/**
 * What `lock()`, `tryLock()` and `withLock()` take. Aborting `signal` also releases whatever was
 * queued; `waitTimeoutMs` gives up with `LockTimeoutError`.
 */
export interface LockOptions extends LeaseOptions, WaitLimits {}

/** `lock()` waited longer than `waitTimeoutMs`. */
export class LockTimeoutError extends codedError('lock-timeout') {}
/** The lock was lost: its lease expired or its key was deleted while held. */
export class LockLostError extends codedError('lock-lost') {}

/**
 * A lock held by this process, until `release()` or until its lease is lost. Pass `fencingToken`
 * to the resources the lock protects, or guard etcd writes with `guard()`, so that a holder
 * paused past its lease cannot overwrite its successor's work.
 */
export interface HeldLock extends LeaseHeld<LockLostError> {
  /** The lock key, `<name>/<lease id hex>`. */
  readonly key: Buffer;
  /** The key's create revision: strictly increasing across successive holders. */
  readonly fencingToken: bigint;
}

/** A held lock: a lease-held key whose create revision is the fencing token. */
class Held extends LeasedHold<LockLostError> implements HeldLock {
  constructor(
    client: Client | Namespace,
    name: string,
    key: Buffer,
    token: bigint,
    lease: Lease,
    ownsLease: boolean,
  ) {
    super(client, name, `lock ${name}`, key, token, lease, ownsLease, {
      lost: (message, cause) => new LockLostError(message, { cause }),
      released: (message) => new EtcdError(message, { code: 'lock-released' }),
    });
  }
  get fencingToken(): bigint {
    return this.createRevision;
  }
}

async function enqueue(client: Client | Namespace, name: string, opts: LockOptions) {
  const { lease, ownsLease } = await obtainLease(client, opts);
  const prefix = keyOf(`${name}/`);
  const key = keyOf(prefix, hex(lease.id));
  const first = op.get({ prefix }, { sort: { target: 'create', order: 'ascend' }, limit: 1 });
  try {
    const r = await client
      .txn()
      .if(compare.createRevision(key, '==', 0))
      .success(op.put(key, '', { lease }), first)
      .failure(op.get(key), first)
      .commit({ signal: opts.signal, timeoutMs: opts.timeoutMs });
    const mine = r.succeeded
      ? r.header.revision
      : (r.responses[0] as { kvs: { createRevision: bigint }[] }).kvs[0]!.createRevision;
    const owner = (r.responses[1] as { kvs: { createRevision: bigint }[] }).kvs[0]?.createRevision;
    return { lease, ownsLease, prefix, key, mine, owner, revision: r.header.revision };
  } catch (e) {
    if (ownsLease) await lease.revoke().catch(() => {});
    throw e;
  }
}

/**
 * Waits for the lock and resolves once it is held.
 *
 * Interoperates with Go's `concurrency.Mutex` and `etcdctl lock` on the same name. A waiter
 * watches only the key just ahead of it, so a long queue costs the cluster little.
 *
 * @example
 * ```ts
 * import { lock } from 'concord-kv/recipes';
 * await using held = await lock(client, 'jobs/nightly', { waitTimeoutMs: 30_000 });
 * await client
 *   .txn()
 *   .if(held.guard()) // writes only while we still hold the lock
 *   .success(op.put('jobs/nightly/last-run', new Date().toISOString()))
 *   .commit();
 * ```
 */
export async function lock(
  client: Client | Namespace,
  name: string,
  opts: LockOptions = {},
): Promise<HeldLock> {
  checkRecipeName('lock', name);
  const q = await enqueue(client, name, opts);
  try {
    if (q.owner !== q.mine) {
      await withDeadline(
        opts.waitTimeoutMs,
        opts.signal,
        (signal) => waitPredecessors(client, q.prefix, q.mine - 1n, signal),
        () => new LockTimeoutError(`lock ${name}: not acquired within ${opts.waitTimeoutMs} ms`),
      );
      // Our own key may have gone while we waited (lease expired): then we hold nothing.
      const still = await client.get(q.key, { signal: opts.signal, timeoutMs: opts.timeoutMs });
      if (!still || still.createRevision !== q.mine) {
        throw new LockLostError(`lock ${name}: the waiter's key disappeared (lease expired?)`);
      }
    }
    return new Held(client, name, q.key, q.mine, q.lease, q.ownsLease);
  } catch (e) {
    await dequeue(client, q).catch(() => {});
    throw e;
  }
}

/** Takes the lock if it is free now; resolves undefined (holding nothing) if it is not. */
export async function tryLock(
  client: Client | Namespace,
  name: string,
  opts: LockOptions = {},
): Promise<HeldLock | undefined> {
  checkRecipeName('lock', name);
  const q = await enqueue(client, name, opts);
  if (q.owner === q.mine) return new Held(client, name, q.key, q.mine, q.lease, q.ownsLease);
  await dequeue(client, q);
  return undefined;
}

/**
 * Runs `fn` while holding the lock and releases it afterwards. `fn` gets the fencing token and
 * a signal that aborts if the lock is lost before `fn` finishes.
 *
 * @example
 * ```ts
 * const report = await withLock(client, 'reports', async ({ fencingToken, signal }) => {
 *   return storage.write('report.csv', data, { fencingToken, signal });
 * });
 * ```
 */
export async function withLock<T>(
  client: Client | Namespace,
  name: string,
  fn: (ctx: { fencingToken: bigint; signal: AbortSignal; lock: HeldLock }) => Promise<T> | T,
  opts: LockOptions = {},
): Promise<T> {
  const held = await lock(client, name, opts);
  try {
    return await fn({ fencingToken: held.fencingToken, signal: held.signal, lock: held });
  } finally {
    await held.release();
  }
}

function dequeue(
  client: Client | Namespace,
  q: { ownsLease: boolean; lease: Lease; key: Buffer; mine: bigint },
) {
  return removeKey(client, { key: q.key, createRevision: q.mine, lease: q.lease, ownsLease: q.ownsLease });
}
