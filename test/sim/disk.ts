/**
 * A member's simulated disk: what it synced survives a crash, the write in flight does not.
 *
 * It keeps what production's WAL and snapshot store keep, with the WAL's replay rules
 * (src/storage/wal/replay.ts): entries in write order, an entry at or below the last index
 * replacing that suffix, the latest hard state and snapshot marker winning, a marker dropping
 * entries that do not continue it. A snapshot (taken
 * locally or installed from the leader) is durable at once: production awaits its save and the
 * WAL's marker before it goes on. `recover()` then gives what src/server/bootstrap/recover.ts
 * gives production: the newest snapshot, the entries after it, the hard state raised to cover
 * the snapshot.
 */
import {
  type Entry,
  emptyConfState,
  emptyHardState,
  type HardState,
  type Snapshot,
} from '../../src/raft/index.js';
import type { DurableLog } from '../../src/server/raft/recovered-log.js';

/** The token the Ready step waits on: one write, until the member's disk syncs it. */
export interface SimWrite {
  readonly hardState: HardState | undefined;
  readonly entries: Entry[];
}

export class SimDisk {
  #snapshot: Snapshot | undefined;
  #entries: Entry[] = [];
  #hardState: HardState = emptyHardState;
  #pending: SimWrite | undefined;

  /** A disk that starts from `snapshot` (a founding member's bootstrap), or empty (a joiner). */
  constructor(snapshot?: Snapshot, hardState?: HardState) {
    this.#snapshot = snapshot;
    if (hardState) this.#hardState = hardState;
  }

  /** The write not yet synced, if any. */
  get pending(): SimWrite | undefined {
    return this.#pending;
  }

  /** Starts one write of entries and hard state; nothing of it is durable until `sync()`. */
  write(hardState: HardState | undefined, entries: Entry[]): SimWrite {
    if (this.#pending) throw new Error('a second write before the first was synced');
    this.#pending = { hardState, entries };
    return this.#pending;
  }

  /** The write in flight reaches the platter; returns the hard state it carried. */
  sync(): HardState | undefined {
    const p = this.#pending;
    if (!p) return undefined;
    this.#pending = undefined;
    for (const e of p.entries) this.#append(e);
    if (p.hardState) this.#hardState = p.hardState;
    return p.hardState;
  }

  /** Power loss: the write in flight never happened. */
  lose(): void {
    this.#pending = undefined;
  }

  /**
   * A snapshot and the WAL's marker for it (entries behind it are released). The entries after
   * it stay only if the log holds its own entry: a leader's snapshot that raft installed over a
   * log of another term restarts the log, as the WAL's replay does.
   */
  saveSnapshot(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    if (this.#snapshot && index <= this.#snapshot.metadata.index) return;
    this.#snapshot = snap;
    const own = this.#entries.find((e) => e.index === index);
    const continues = own ? own.term === term : (this.#entries[0]?.index ?? 0) > index;
    this.#entries = continues ? this.#entries.filter((e) => e.index > index) : [];
  }

  /** What a restart finds. */
  recover(): DurableLog {
    const snap = this.#snapshot;
    const index = snap?.metadata.index ?? 0;
    const term = snap?.metadata.term ?? 0;
    const entries = this.#entries.filter((e) => e.index > index);
    if (entries.length > 0 && entries[0]!.index !== index + 1)
      throw new Error(`the log continues at ${entries[0]!.index}, the snapshot is at ${index}`);
    const hs = this.#hardState;
    return {
      snapshotIndex: index,
      snapshotTerm: term,
      confState: snap?.metadata.confState ?? emptyConfState,
      snapshotData: snap?.data,
      entries,
      hardState:
        index === 0
          ? hs
          : { term: Math.max(hs.term, term), vote: hs.vote, commit: Math.max(hs.commit, index) },
    };
  }

  #append(e: Entry): void {
    const es = this.#entries;
    const last = es.length === 0 ? 0 : es[es.length - 1]!.index;
    if (es.length === 0 || e.index === last + 1) {
      es.push(e);
      return;
    }
    const first = es[0]!.index;
    if (e.index <= last) {
      // Overwrite: everything from e.index on is replaced.
      es.length = e.index <= first ? 0 : e.index - first;
      es.push(e);
    } else {
      // The log restarts after a snapshot installed from the leader.
      es.length = 0;
      es.push(e);
    }
  }
}
