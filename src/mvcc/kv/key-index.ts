/**
 * One key's history: its revisions in ascending order. Generations are implicit — a tombstone
 * ends one, and the next put starts the next (create revision = that put, version 1), which is
 * etcd's keyIndex without the per-generation objects (fewer allocations per key).
 *
 * Keys and values are latin1 "binary strings": one char per byte, so JavaScript's `<` on them
 * is the bytewise order etcd uses, and a short string costs far less memory than a Buffer.
 */

/** A stored revision of a key. Immutable once created; shared by the index, the log and snapshots. */
export class Rev {
  constructor(
    readonly key: string,
    /** Main revision: the write request (a txn is one). */
    readonly main: number,
    /** Sub revision: the change's position inside its write request. */
    readonly sub: number,
    /** Value bytes as latin1; '' for a tombstone. */
    readonly value: string,
    /** Create revision of the generation; 0 for a tombstone. */
    readonly create: number,
    /** Version within the generation; 0 for a tombstone. */
    readonly version: number,
    /** Attached lease, 0n for none. */
    readonly lease: bigint,
    /** True when this revision deletes the key (ends its generation). */
    readonly tomb: boolean,
  ) {}
}

/** Revisions of one key; never empty while it is in the index. */
export type Revs = Rev[];

/** Index of the last revision with main ≤ atRev, or -1. */
export function lastAtOrBefore(revs: Revs, atRev: number): number {
  let lo = 0;
  let hi = revs.length - 1;
  // Most reads are at the newest revision: check the tail first.
  if (hi >= 0 && revs[hi]!.main <= atRev) return hi;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (revs[mid]!.main <= atRev) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** The live revision of the key as of atRev, or undefined (never written yet, or deleted). */
export function visibleAt(revs: Revs, atRev: number): Rev | undefined {
  const i = lastAtOrBefore(revs, atRev);
  if (i < 0) return undefined;
  const r = revs[i]!;
  return r.tomb ? undefined : r;
}

/** The key's live revision now, or undefined. */
export function latestLive(revs: Revs): Rev | undefined {
  const r = revs[revs.length - 1];
  return r === undefined || r.tomb ? undefined : r;
}

/**
 * Compaction of one key at atRev (etcd keyIndex.compact): keep the newest revision ≤ atRev
 * unless it is a tombstone (then the whole generation before it goes), and everything after.
 * Returns the same array when nothing changes, a new one otherwise (snapshots holding a clone
 * of the index keep seeing the old one), or undefined when nothing is left.
 */
export function compactRevs(revs: Revs, atRev: number): Revs | undefined {
  const i = lastAtOrBefore(revs, atRev);
  if (i < 0) return revs;
  const from = revs[i]!.tomb ? i + 1 : i;
  if (from === 0) return revs;
  if (from >= revs.length) return undefined;
  return revs.slice(from);
}
