/**
 * Replay: turns the records of all segments, in order, into the log etcd-io/raft expects back.
 * An entry at an index at or below the last one replaces that suffix (a new leader overwrote
 * uncommitted entries); the latest hard state and snapshot marker win. A snapshot marker whose
 * index holds an entry of another term (or no entry, the log ending before it) restarts the log:
 * raft discards such a log when it installs a leader's snapshot, and the entries written before
 * the marker would otherwise come back after it on replay (an older term after a newer one).
 */
import { PayloadError, readEntry, readHardState, readSnapshot } from './codec.js';
import { RecordType, type ScannedRecord } from './record.js';
import type { HardState, SnapshotMarker, WalContents, WalEntry } from './types.js';

/** A replay rule was broken; the caller turns it into a WalCorruptError at `offset`. */
export class ReplayError extends Error {
  readonly code = 'wal-replay';
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

export class Replay {
  #entries: WalEntry[] = [];
  hardState: HardState | undefined;
  snapshot: SnapshotMarker | undefined;

  apply(rec: ScannedRecord): void {
    try {
      switch (rec.type) {
        case RecordType.entry:
          this.#entry(rec, readEntry(rec.payload));
          break;
        case RecordType.hardState:
          this.hardState = readHardState(rec.payload);
          break;
        case RecordType.snapshot:
          this.snapshot = readSnapshot(rec.payload);
          this.#restartUnlessContinued(this.snapshot);
          break;
      }
    } catch (err) {
      if (err instanceof PayloadError) throw new ReplayError(rec.offset, err.message);
      throw err;
    }
  }

  #entry(rec: ScannedRecord, e: WalEntry): void {
    const es = this.#entries;
    if (es.length === 0) {
      es.push(e);
      return;
    }
    const first = es[0]!.index;
    const last = es[es.length - 1]!.index;
    if (e.index === last + 1) es.push(e);
    else if (e.index <= last) {
      // Overwrite: everything from e.index on is replaced.
      if (e.index <= first) es.length = 0;
      else es.length = e.index - first;
      es.push(e);
    } else if (this.snapshot !== undefined && e.index === this.snapshot.index + 1) {
      // The log restarts after a snapshot installed from the leader.
      es.length = 0;
      es.push(e);
    } else throw new ReplayError(rec.offset, `entry index ${e.index} leaves a gap after ${last}`);
  }

  /** Drops the entries unless the log holds the snapshot's own entry or starts after it. */
  #restartUnlessContinued(snap: SnapshotMarker): void {
    const es = this.#entries;
    if (es.length === 0) return;
    const first = es[0]!.index;
    if (first > snap.index) return;
    const at = es[snap.index - first];
    if (at === undefined || at.term !== snap.term) es.length = 0;
  }

  /** Index of the last entry seen (0 when none). */
  get lastIndex(): number {
    const es = this.#entries;
    const snap = this.snapshot?.index ?? 0;
    return es.length === 0 ? snap : Math.max(snap, es[es.length - 1]!.index);
  }

  contents(): WalContents {
    const after = this.snapshot?.index ?? 0;
    let entries = this.#entries;
    const firstKept = entries.findIndex((e) => e.index > after);
    entries = firstKept < 0 ? [] : entries.slice(firstKept);
    if (this.snapshot !== undefined && entries.length > 0 && entries[0]!.index !== after + 1)
      throw new ReplayError(
        -1,
        `entries start at ${entries[0]!.index} but the snapshot marker is at ${after}: segments are missing`,
      );
    return { hardState: this.hardState, snapshot: this.snapshot, entries };
  }
}
