/**
 * A key as the dashboard's model reads it: plain data (no SDK class), so the model is pure and
 * the same shapes travel to the browser as JSON. Revisions are decimal strings and lease IDs hex,
 * as etcdctl prints them: JSON has no 64-bit integers.
 */
export interface Entry {
  /** The key as UTF-8 text. */
  key: string;
  /** The value as UTF-8 text. */
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  /** The attached lease, 0n for none. */
  lease: bigint;
}

/** A lease ID as etcdctl prints it (hex, no leading zeros). */
export const leaseHex = (id: bigint): string => id.toString(16);

/** Entries in create-revision order: the queue order of every recipe that waits. */
export const byCreateRevision = (a: Entry, b: Entry): number =>
  a.createRevision < b.createRevision ? -1 : a.createRevision > b.createRevision ? 1 : 0;

/** A contender in some queue (a lock, an election, a semaphore), as the views show it. */
export interface Contender {
  key: string;
  /** Lease ID in hex. */
  lease: string;
  /** The key's create revision: its place in the queue, and its fencing token once it holds. */
  createRevision: string;
  modRevision: string;
  value: string;
}

export const contender = (e: Entry): Contender => ({
  key: e.key,
  lease: leaseHex(e.lease),
  createRevision: e.createRevision.toString(),
  modRevision: e.modRevision.toString(),
  value: e.value,
});

/** Groups entries by a name each one yields (or not): the groups in name order. */
export function groupBy<T>(
  entries: Iterable<Entry>,
  nameOf: (e: Entry) => T | undefined,
  key: (t: T) => string,
) {
  const groups = new Map<string, { of: T; entries: Entry[] }>();
  for (const e of entries) {
    const t = nameOf(e);
    if (t === undefined) continue;
    const k = key(t);
    const g = groups.get(k) ?? { of: t, entries: [] };
    groups.set(k, g);
    g.entries.push(e);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({ of: g.of, entries: g.entries.sort(byCreateRevision) }));
}
