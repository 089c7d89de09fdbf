/**
 * The log storage the core reads from, and an in-memory reference implementation.
 *
 * The core only reads from Storage; the host writes to it (after each Ready). Entries in
 * storage are stable: they survive a crash. The first entry kept is a dummy standing for the
 * last compacted entry (index and term of the snapshot), so `term(firstIndex() - 1)` works.
 */
import {
  CompactedError,
  SnapOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  UnavailableError,
} from './errors.js';
import {
  type ConfState,
  type Entry,
  emptyConfState,
  emptyHardState,
  entrySize,
  type HardState,
  type Snapshot,
} from './types.js';

export interface Storage {
  /** The persisted hard state and the configuration of the latest snapshot. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries in [lo, hi), at most `maxSize` bytes but always at least one entry if any.
   * @throws CompactedError if lo <= the snapshot index; UnavailableError if hi > lastIndex()+1.
   */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /**
   * The term of entry i, for i in [firstIndex()-1, lastIndex()].
   * @throws CompactedError / UnavailableError outside that range.
   */
  term(i: number): number;
  lastIndex(): number;
  /** Index of the first entry still available (the snapshot index + 1). */
  firstIndex(): number;
  /** The most recent snapshot. @throws SnapshotTemporarilyUnavailableError while one is being made. */
  snapshot(): Snapshot;
}

/** Keeps entries within `maxSize` bytes, but always at least the first one. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]!);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * Storage held in memory. The simulator treats it as the disk: whatever a node wrote here
 * survives its crash, everything else is lost.
 */
export class MemoryStorage implements Storage {
  #hardState: HardState = emptyHardState;
  #snapshot: Snapshot = {
    data: new Uint8Array(0),
    metadata: { index: 0, term: 0, confState: emptyConfState },
  };
  /** ents[0] is the dummy entry at the snapshot index; ents[i].index === ents[0].index + i. */
  #ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }];
  /** When set, snapshot() throws SnapshotTemporarilyUnavailableError (tests). */
  snapshotUnavailable = false;

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hardState, confState: this.#snapshot.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.#hardState = hs;
  }

  hardState(): HardState {
    return this.#hardState;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.#ents[0]!.index;
    if (lo <= offset) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new UnavailableError();
    if (this.#ents.length === 1) throw new UnavailableError();
    return limitSize(this.#ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = this.#ents[0]!.index;
    if (i < offset) throw new CompactedError();
    if (i - offset >= this.#ents.length) throw new UnavailableError();
    return this.#ents[i - offset]!.term;
  }

  lastIndex(): number {
    return this.#ents[0]!.index + this.#ents.length - 1;
  }

  firstIndex(): number {
    return this.#ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    if (this.snapshotUnavailable) throw new SnapshotTemporarilyUnavailableError();
    return this.#snapshot;
  }

  /** Replaces the whole content with a snapshot (a follower installing one). */
  applySnapshot(snap: Snapshot): void {
    if (this.#snapshot.metadata.index >= snap.metadata.index) throw new SnapOutOfDateError();
    this.#snapshot = snap;
    this.#ents = [
      { term: snap.metadata.term, index: snap.metadata.index, type: 'normal', data: new Uint8Array(0) },
    ];
  }

  /**
   * Records a snapshot of the state machine at applied index i (i <= lastIndex), keeping the log.
   * Call compact() afterwards to drop the entries it covers.
   */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.#snapshot.metadata.index) throw new SnapOutOfDateError();
    if (i > this.lastIndex())
      throw new RangeError(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    const offset = this.#ents[0]!.index;
    this.#snapshot = { data, metadata: { index: i, term: this.#ents[i - offset]!.term, confState } };
    return this.#snapshot;
  }

  /** Discards entries before compactIndex (which becomes the dummy entry). */
  compact(compactIndex: number): void {
    const offset = this.#ents[0]!.index;
    if (compactIndex <= offset) throw new CompactedError();
    if (compactIndex > this.lastIndex()) {
      throw new RangeError(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    }
    const i = compactIndex - offset;
    const dummy = this.#ents[i]!;
    this.#ents = [
      { term: dummy.term, index: dummy.index, type: 'normal', data: new Uint8Array(0) },
      ...this.#ents.slice(i + 1),
    ];
  }

  /** Appends entries, truncating any conflicting suffix. Entries must be contiguous. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // all already compacted
    let ents = entries;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const offset = ents[0]!.index - this.#ents[0]!.index;
    if (offset > this.#ents.length) {
      throw new RangeError(`missing log entry [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    }
    // In place: copying the log on every append made each put cost O(log length) (the log
    // holds up to snapshot-count + catch-up entries, 105,000 by default). No caller holds
    // #ents itself: entries() hands out copies.
    if (offset < this.#ents.length) this.#ents.length = offset;
    for (const e of ents) this.#ents.push(e);
  }
}

/**
 * The snapshot every founding member of a new cluster installs before starting: index 1, term 1,
 * the initial configuration, empty state. A member added later starts with empty storage and
 * receives the leader's snapshot, so every member's log starts from a known configuration.
 */
export function bootstrapSnapshot(confState: ConfState, data: Uint8Array = new Uint8Array(0)): Snapshot {
  return { data, metadata: { index: 1, term: 1, confState } };
}
