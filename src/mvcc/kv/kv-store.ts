/**
 * The revisioned keyspace (etcd mvcc's store): the key index, the current and compacted
 * revisions, and the history log that watchers replay. Writes happen inside a WriteTxn; one
 * write request (put, delete, txn, lease revoke) is one main revision, each change in it one
 * sub revision. A write request that changes nothing does not consume a revision.
 */
import { CompactedError, FutureRevisionError } from '../errors.js';
import { compactRevs, lastAtOrBefore, latestLive, Rev, visibleAt } from './key-index.js';
import { KEY_SPACE_END, TreeIndex } from './tree-index.js';

/** Bytes counted per stored revision on top of key and value (etcd's quota uses 256 per put). */
export const REV_OVERHEAD_BYTES = 64;

/** One change made by a write: the new revision and the key's live revision before it. */
export interface Change {
  rev: Rev;
  prev: Rev | undefined;
}

/** Told about lease attachment changes, so the lessor's key sets follow the keyspace. */
export interface LeaseAttachments {
  attach(lease: bigint, key: string): void;
  detach(lease: bigint, key: string): void;
}

const NO_LEASES: LeaseAttachments = { attach() {}, detach() {} };

/** Resolves etcd's range_end rules: undefined = the single key; KEY_SPACE_END = to the end. */
export function rangeEndOf(rangeEnd: string): string | undefined {
  if (rangeEnd.length === 0) return undefined;
  if (rangeEnd === '\0') return KEY_SPACE_END;
  return rangeEnd;
}

export interface RangeResult {
  /** Live revisions in key order (all of them, or limit of them). */
  kvs: Rev[];
  /** Number of keys in the range, regardless of limit. */
  count: number;
}

export class KvStore {
  /** Key → revisions. */
  index = new TreeIndex();
  /** Newest main revision; 1 on a fresh store (etcd starts at 1). */
  currentRev = 1;
  /**
   * etcd's compactMainRev: revisions below this were compacted and reads below it fail. -1 until
   * the first compaction (a compaction at revision 0 is one: etcd accepts it, and refuses it again).
   */
  compactRev = -1;
  /**
   * Revisions with main ≥ compactRev in revision order (what a watcher may replay). Invariant:
   * exactly the index's revisions with main ≥ compactRev, minus tombstones at compactRev.
   */
  log: Rev[] = [];
  /** Sum over stored revisions of key + value + REV_OVERHEAD_BYTES (the quota's measure). */
  sizeBytes = 0;
  leases: LeaseAttachments = NO_LEASES;

  /** Validates a read revision (0 = current) and returns the one to read at. */
  checkReadRev(rev: number, current: number = this.currentRev): number {
    if (rev > current) throw new FutureRevisionError();
    if (rev <= 0) return current;
    if (rev < this.compactRev) throw new CompactedError();
    return rev;
  }

  /**
   * Keys live at atRev in [key, end) (end undefined = just key). `limit` 0 = all. Counting
   * still visits every key in the range, as etcd does.
   */
  range(key: string, end: string | undefined, atRev: number, limit: number, countOnly: boolean): RangeResult {
    const kvs: Rev[] = [];
    if (end === undefined) {
      const revs = this.index.get(key);
      const r = revs && visibleAt(revs, atRev);
      if (r === undefined) return { kvs, count: 0 };
      if (!countOnly) kvs.push(r);
      return { kvs, count: 1 };
    }
    let count = 0;
    const take = countOnly ? 0 : limit > 0 ? limit : Number.POSITIVE_INFINITY;
    this.index.range(key, end, (_k, revs) => {
      const r = visibleAt(revs, atRev);
      if (r !== undefined) {
        count++;
        if (kvs.length < take) kvs.push(r);
      }
      return false;
    });
    return { kvs, count };
  }

  /** Live revision of a key at atRev. */
  get(key: string, atRev: number = this.currentRev): Rev | undefined {
    const revs = this.index.get(key);
    return revs && visibleAt(revs, atRev);
  }

  beginWrite(): WriteTxn {
    return new WriteTxn(this);
  }

  /**
   * Physically drops every revision superseded at or before `rev`, keeping the newest of each
   * key that is still live there. Validation (future/compacted) is the caller's.
   */
  compact(rev: number): void {
    const index = this.index;
    // Only keys written since the last compaction can hold superseded revisions: every other
    // key has a single revision left (the previous compaction saw to it). So the work is
    // proportional to the history since then, not to the keyspace.
    const log = this.log;
    const upTo = lowerBoundMain(log, rev + 1);
    const keys = new Set<string>();
    for (let i = 0; i < upTo; i++) keys.add(log[i]!.key);
    for (const key of keys) {
      const revs = index.get(key);
      if (revs === undefined) continue;
      const next = compactRevs(revs, rev);
      if (next === revs) continue;
      for (let i = 0; i < revs.length && (next === undefined || revs[i] !== next[0]); i++) {
        this.sizeBytes -= revBytes(revs[i]!);
      }
      if (next === undefined) index.delete(key);
      else index.set(key, next);
    }
    // The log keeps what a watcher starting at `rev` may replay; a tombstone at `rev` was
    // removed from the keyspace above, so it goes from the log too (as in etcd).
    this.log = log.slice(lowerBoundMain(log, rev)).filter((r) => r.main > rev || !r.tomb);
    this.compactRev = rev;
  }

  /** Index in `log` of the first revision with main ≥ rev. */
  logIndexOf(rev: number): number {
    return lowerBoundMain(this.log, rev);
  }

  /** The key's live revision just before `r` (for an event's prev_kv). */
  /**
   * What a watch event of `r` reports as prev_kv: the key as it stood at the revision before
   * r's (etcd reads it at mod_revision - 1), not the change before it in the same revision. A
   * txn that puts a key and then deletes it sends the delete with no prev_kv, as etcd does.
   */
  prevOf(r: Rev): Rev | undefined {
    const revs = this.index.get(r.key);
    if (!revs) return undefined;
    const i = lastAtOrBefore(revs, r.main - 1);
    const p = i >= 0 ? revs[i] : undefined;
    return p === undefined || p.tomb ? undefined : p;
  }

  /** prevOf for a change just made: its `prev` unless that was written in the same revision. */
  eventPrevOf(c: Change): Rev | undefined {
    return c.prev === undefined || c.prev.main < c.rev.main ? c.prev : this.prevOf(c.rev);
  }
}

export function revBytes(r: Rev): number {
  return r.key.length + r.value.length + REV_OVERHEAD_BYTES;
}

function lowerBoundMain(log: Rev[], rev: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.main < rev) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One write request in progress. Changes land in the index at once (reads later in the same
 * txn see them, as etcd's storeTxnWrite does); end() publishes the revision. Every check that
 * can fail must run before the first change: there is no rollback.
 */
export class WriteTxn {
  readonly #store: KvStore;
  /** The main revision this write will have. */
  readonly rev: number;
  readonly changes: Change[] = [];

  constructor(store: KvStore) {
    this.#store = store;
    this.rev = store.currentRev + 1;
  }

  /** The revision a read inside this txn sees: the new one once something changed. */
  get readRev(): number {
    return this.changes.length > 0 ? this.rev : this.rev - 1;
  }

  put(key: string, value: string, lease: bigint): Change {
    const store = this.#store;
    let revs = store.index.get(key);
    const prev = revs && latestLive(revs);
    const rev = new Rev(
      key,
      this.rev,
      this.changes.length,
      value,
      prev ? prev.create : this.rev,
      prev ? prev.version + 1 : 1,
      lease,
      false,
    );
    if (revs === undefined) {
      revs = [rev];
      store.index.set(key, revs);
    } else {
      revs.push(rev);
    }
    store.sizeBytes += revBytes(rev);
    if (prev && prev.lease !== 0n && prev.lease !== lease) store.leases.detach(prev.lease, key);
    if (lease !== 0n && (!prev || prev.lease !== lease)) store.leases.attach(lease, key);
    const change = { rev, prev };
    this.changes.push(change);
    return change;
  }

  /** Deletes the live keys in [key, end) (end undefined = just key), in key order. */
  deleteRange(key: string, end: string | undefined): Change[] {
    const store = this.#store;
    const victims: Rev[] = store.range(key, end, this.readRev, 0, false).kvs;
    const out: Change[] = [];
    for (const prev of victims) out.push(this.#tombstone(prev));
    return out;
  }

  #tombstone(prev: Rev): Change {
    const store = this.#store;
    const rev = new Rev(prev.key, this.rev, this.changes.length, '', 0, 0, 0n, true);
    store.index.get(prev.key)!.push(rev);
    store.sizeBytes += revBytes(rev);
    if (prev.lease !== 0n) store.leases.detach(prev.lease, prev.key);
    const change = { rev, prev };
    this.changes.push(change);
    return change;
  }

  /** Publishes the revision (if anything changed). Returns the store's revision after it. */
  end(): number {
    const store = this.#store;
    if (this.changes.length > 0) {
      store.currentRev = this.rev;
      for (const c of this.changes) store.log.push(c.rev);
    }
    return store.currentRev;
  }
}
