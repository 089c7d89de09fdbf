/**
 * The snapshot store contract shared by the file and PostgreSQL stores. A snapshot is an opaque
 * byte stream (the state machine's serialization) plus the metadata a member needs to use it:
 * whose it is (cluster, member), where it sits in the log (term, index), the membership at that
 * index, and its size and SHA-256, which every read verifies.
 */
import type { Readable } from 'node:stream';

/** What the caller knows about a snapshot before saving it. */
export interface SnapshotInfo {
  clusterId: bigint;
  memberId: bigint;
  term: number;
  index: number;
  /** The membership (configuration) at `index`, opaque to the store. */
  membership: Uint8Array;
}

/** A stored snapshot. Listing never reads the data. */
export interface SnapshotMeta extends SnapshotInfo {
  /** The store's name for it: a file name for the file store, a row id for PostgreSQL. */
  id: string;
  size: number;
  /** Lower-case hex SHA-256 of the data. */
  sha256: string;
  createdAt: Date;
}

export interface StoreCallOptions {
  /** Aborts the call; the promise rejects with StoreDeadlineError. */
  signal?: AbortSignal;
  /** Deadline for the whole call, in milliseconds (each store documents its default). */
  timeoutMs?: number;
}

/** Selects the snapshots of one cluster, or of one member of it. */
export interface SnapshotFilter {
  clusterId?: bigint;
  memberId?: bigint;
}

export type SnapshotSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface SnapshotStore {
  /** `'file'` or `'postgres'`. */
  readonly kind: string;
  /** Saves `data` under `info`, streaming (bounded memory); resolves once durable. */
  save(info: SnapshotInfo, data: SnapshotSource, opts?: StoreCallOptions): Promise<SnapshotMeta>;
  /** Newest first: by index, then term, then creation time. */
  list(filter?: SnapshotFilter, opts?: StoreCallOptions): Promise<SnapshotMeta[]>;
  latest(filter?: SnapshotFilter, opts?: StoreCallOptions): Promise<SnapshotMeta | undefined>;
  /** The metadata of one snapshot; SnapshotNotFoundError if absent. */
  stat(id: string, opts?: StoreCallOptions): Promise<SnapshotMeta>;
  /**
   * The data as a byte stream. It is checked as it is read: if the bytes do not match the
   * recorded size and SHA-256 the stream fails with SnapshotChecksumError at the end, so use
   * the data only once the stream has ended without error.
   */
  open(id: string, opts?: StoreCallOptions): Promise<Readable>;
  delete(id: string, opts?: StoreCallOptions): Promise<void>;
  /**
   * Retention: keeps the newest `keep` snapshots of each (cluster, member) matching `filter`,
   * deletes the rest and returns them.
   */
  retain(keep: number, filter?: SnapshotFilter, opts?: StoreCallOptions): Promise<SnapshotMeta[]>;
  close(): Promise<void>;
}

/** Orders newest first, as `list` promises. */
export function newestFirst(a: SnapshotMeta, b: SnapshotMeta): number {
  return b.index - a.index || b.term - a.term || b.createdAt.getTime() - a.createdAt.getTime();
}

export function matches(m: SnapshotInfo, f: SnapshotFilter | undefined): boolean {
  return (
    (f?.clusterId === undefined || m.clusterId === f.clusterId) &&
    (f?.memberId === undefined || m.memberId === f.memberId)
  );
}

/** Applies retention to a newest-first list: what to delete so each member keeps `keep`. */
export function beyondRetention(sorted: SnapshotMeta[], keep: number): SnapshotMeta[] {
  if (!Number.isInteger(keep) || keep < 0)
    throw new RangeError(`snapshot retention: keep must be an integer ≥ 0, got ${keep}`);
  const seen = new Map<string, number>();
  const out: SnapshotMeta[] = [];
  for (const m of sorted) {
    const k = `${m.clusterId}/${m.memberId}`;
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    if (n > keep) out.push(m);
  }
  return out;
}

/** A 64-bit ID as 16 hex digits, the way etcd prints member and cluster IDs. */
export function hexId(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16).padStart(16, '0');
}
