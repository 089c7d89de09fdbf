/**
 * The core's in-memory log at start, rebuilt from what survived on disk: the newest snapshot's
 * position, the log entries after it and the hard state. Production builds it from the WAL and
 * the snapshot store (src/server/bootstrap/recover.ts); the simulator from what its simulated
 * disk synced before a crash. Pure: it imports the raft core only.
 */
import { type ConfState, type Entry, type HardState, MemoryStorage } from '../../raft/index.js';

/** What a restart finds durable: the newest snapshot's position, the entries after it, the hard state. */
export interface DurableLog {
  snapshotIndex: number;
  snapshotTerm: number;
  confState: ConfState;
  /** The snapshot's state machine bytes when they live in the log store (the simulator's). */
  snapshotData?: Uint8Array;
  entries: Entry[];
  hardState: HardState;
}

/** The core's in-memory log at start, as recovery left it. */
export function recoveredLog(d: DurableLog): MemoryStorage {
  const storage = new MemoryStorage();
  if (d.snapshotIndex > 0)
    storage.applySnapshot({
      data: d.snapshotData ?? new Uint8Array(0),
      metadata: { index: d.snapshotIndex, term: d.snapshotTerm, confState: d.confState },
    });
  storage.append(d.entries);
  storage.setHardState(d.hardState);
  return storage;
}
