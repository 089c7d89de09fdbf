/**
 * Locks and elections decoded from their key layouts.
 *
 * - Mutex (this SDK's `lock()`, Go's `concurrency.Mutex`, `etcdctl lock`) and election (`elect()`,
 *   Go's `concurrency.Election`, `etcdctl elect`) share one layout: `<name>/<lease id hex>` on that
 *   very lease, the lowest create revision owns it. A mutex key's value is empty, a candidate's
 *   is its proposal: that is how the two are told apart (an election proposing "" shows as a lock).
 * - Read-write lock (`rwlock()`, Go's `recipes.RWMutex`): `<name>/read/<id>` and
 *   `<name>/write/<id>` on a lease; a reader holds once no writer is older, a writer once nothing is.
 * - Semaphore (`semaphore()`): the key `<name>` holds the limit, contenders put
 *   `<name>/<lease hex>-<12 hex>` on a lease; the `limit` oldest hold a permit.
 *
 * The fencing token is always the holder key's create revision.
 */
import { type Contender, contender, type Entry, groupBy, leaseHex } from './entry.js';

export interface MutexView {
  kind: 'mutex';
  name: string;
  /** The owner: the contender with the lowest create revision. */
  holder: Contender;
  /** The holder key's create revision. */
  fencingToken: string;
  /** Waiters in queue order. */
  waiters: Contender[];
}

export interface ElectionView {
  name: string;
  leader: Contender;
  /** Every candidate behind the leader, in order. */
  candidates: Contender[];
}

export interface RWLockView {
  kind: 'rwlock';
  name: string;
  /** The readers holding it together, or the one writer. */
  holders: (Contender & { mode: 'read' | 'write' })[];
  /** The lowest fencing token among the holders. */
  fencingToken: string;
  waiters: (Contender & { mode: 'read' | 'write' })[];
}

export interface SemaphoreView {
  kind: 'semaphore';
  name: string;
  limit: number;
  holders: Contender[];
  waiters: Contender[];
}

export type LockView = MutexView | RWLockView | SemaphoreView;

const MUTEX = /^(.+)\/([0-9a-f]{1,16})$/;
const RW = /^(.+)\/(read|write)\/([^/]+)$/;
const PERMIT = /^(.+)\/([0-9a-f]{1,16})-[0-9a-f]{12}$/;

/** `<name>/<hex>` on the lease the hex names: a mutex or election contender. */
function leaseNamed(e: Entry): string | undefined {
  const m = MUTEX.exec(e.key);
  if (!m || e.lease === 0n || m[2] !== leaseHex(e.lease)) return undefined;
  return m[1];
}

export function mutexes(entries: readonly Entry[]): MutexView[] {
  return groupBy(
    entries,
    (e) => (e.value === '' ? leaseNamed(e) : undefined),
    (n) => n,
  ).map(({ of: name, entries: [first, ...rest] }) => ({
    kind: 'mutex' as const,
    name,
    holder: contender(first!),
    fencingToken: first!.createRevision.toString(),
    waiters: rest.map(contender),
  }));
}

/**
 * Elections: the leader is the oldest candidate. A contender whose value is empty is taken for a
 * mutex unless another candidate of the same name has a value (a candidate proposing "" then).
 */
export function elections(entries: readonly Entry[]): ElectionView[] {
  const groups = groupBy(entries, leaseNamed, (n) => n);
  return groups
    .filter((g) => g.entries.some((e) => e.value !== ''))
    .map(({ of: name, entries: [first, ...rest] }) => ({
      name,
      leader: contender(first!),
      candidates: rest.map(contender),
    }));
}

export function rwlocks(entries: readonly Entry[]): RWLockView[] {
  const groups = groupBy(
    entries,
    (e) => {
      const m = RW.exec(e.key);
      return m && e.lease !== 0n ? m[1] : undefined;
    },
    (n) => n,
  );
  return groups.map(({ of: name, entries: queue }) => {
    const all = queue.map((e) => ({ ...contender(e), mode: RW.exec(e.key)![2] as 'read' | 'write' }));
    // A reader holds while no writer is ahead of it; a writer holds only at the head.
    const firstWriter = all.findIndex((c) => c.mode === 'write');
    const held = firstWriter === 0 ? 1 : firstWriter === -1 ? all.length : firstWriter;
    return {
      kind: 'rwlock' as const,
      name,
      holders: all.slice(0, held),
      fencingToken: all[0]!.createRevision,
      waiters: all.slice(held),
    };
  });
}

export function semaphores(entries: readonly Entry[]): SemaphoreView[] {
  const limits = new Map<string, number>();
  for (const e of entries)
    if (/^[1-9][0-9]*$/.test(e.value) && e.lease === 0n) limits.set(e.key, Number(e.value));
  const groups = groupBy(
    entries,
    (e) => {
      const m = PERMIT.exec(e.key);
      return m && e.lease !== 0n && m[2] === leaseHex(e.lease) && limits.has(m[1]!) ? m[1] : undefined;
    },
    (n) => n,
  );
  return groups.map(({ of: name, entries: queue }) => {
    const limit = limits.get(name)!;
    const all = queue.map(contender);
    return {
      kind: 'semaphore' as const,
      name,
      limit,
      holders: all.slice(0, limit),
      waiters: all.slice(limit),
    };
  });
}

/** Every lock of every kind, in name order. */
export function locks(entries: readonly Entry[]): LockView[] {
  const electionNames = new Set(elections(entries).map((e) => e.name));
  return [
    ...mutexes(entries).filter((m) => !electionNames.has(m.name)),
    ...rwlocks(entries),
    ...semaphores(entries),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
