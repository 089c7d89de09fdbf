/**
 * What the WAL stores, in the shapes etcd-io/raft hands its host: entries and hard state from a
 * `Ready`, and a marker of the latest snapshot so replay knows where the log starts.
 */

/** One Raft log entry. `data` is opaque to the WAL. */
export interface WalEntry {
  index: number;
  term: number;
  /** Entry kind as the Raft core numbers it (normal, conf change …); opaque to the WAL. */
  type: number;
  data: Uint8Array;
}

/** The Raft hard state: what must survive a restart for votes and commits to stay safe. */
export interface HardState {
  term: number;
  /** The member voted for in `term`; member IDs are random 64-bit values, 0n = none. */
  vote: bigint;
  commit: number;
}

/** Marks that a snapshot at (index, term) exists: replay starts after it. */
export interface SnapshotMarker {
  index: number;
  term: number;
}

/** The log as recovered from disk. */
export interface WalContents {
  /** The last hard state saved, or undefined when none was ever saved. */
  hardState: HardState | undefined;
  /** The latest snapshot marker saved, or undefined. */
  snapshot: SnapshotMarker | undefined;
  /** Entries after the snapshot (index > snapshot.index), contiguous and in order. */
  entries: WalEntry[];
}

/** What recovery cut from the tail of the last segment (a write torn by a crash). */
export interface TornTail {
  file: string;
  /** Offset of the first byte cut: the file now ends here. */
  offset: number;
  /** How many bytes were cut. */
  bytes: number;
  reason: string;
}
