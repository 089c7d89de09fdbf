/**
 * Rebuilds a member's state from its data dir: the newest local snapshot (if any) restores the
 * state machine, then the WAL entries after the snapshot's applied index are applied in order.
 * The applied index travels inside the snapshot, so entries the snapshot already covers are
 * skipped: replay is idempotent however often it runs.
 *
 *   <data-dir>/wal    the write-ahead log (src/storage Wal)
 *   <data-dir>/snap   the file snapshot store
 */
import path from 'node:path';
import { MvccError, restore, StateMachine, type StateMachineOptions } from '../mvcc/index.js';
import { FileSnapshotStore, type HardState, Wal } from '../storage/index.js';
import { decodeInternalRequest } from './internal-request.js';

export interface RecoveredState {
  sm: StateMachine;
  wal: Wal;
  snapshots: FileSnapshotStore;
  /** Hard state as found on disk (undefined for a new member). */
  hardState: HardState | undefined;
  /** Index and term of the snapshot the state was restored from (0 when none). */
  snapshotIndex: number;
  snapshotTerm: number;
  /** Index of the last entry in the WAL (or the snapshot's when the WAL is empty after it). */
  lastIndex: number;
  /** Term of the last entry. */
  lastTerm: number;
  /** Entries applied from the WAL during recovery. */
  replayed: number;
}

export class RecoveryError extends Error {
  constructor(message: string) {
    super(`concord: cannot recover the data dir: ${message}`);
    this.name = 'RecoveryError';
  }
}

export async function recover(
  dataDir: string,
  smOptions: StateMachineOptions,
  filter: { clusterId: bigint; memberId: bigint },
): Promise<RecoveredState> {
  const snapshots = new FileSnapshotStore(path.join(dataDir, 'snap'));
  let sm = new StateMachine(smOptions);
  let snapshotIndex = 0;
  let snapshotTerm = 0;
  const latest = await snapshots.latest(filter);
  if (latest) {
    sm = await restore(await snapshots.open(latest.id), smOptions);
    snapshotIndex = latest.index;
    snapshotTerm = latest.term;
    if (sm.appliedIndex !== latest.index)
      throw new RecoveryError(
        `snapshot ${latest.id} says index ${latest.index} but holds applied index ${sm.appliedIndex}`,
      );
  }
  const wal = await Wal.open(path.join(dataDir, 'wal'));
  try {
    const { hardState, snapshot: marker, entries } = wal.readAll();
    if (marker && marker.index > snapshotIndex)
      throw new RecoveryError(
        `the WAL starts after a snapshot at index ${marker.index}, but the newest snapshot in ${snapshots.dir} is at ${snapshotIndex}`,
      );
    const first = entries[0];
    if (first && first.index > sm.appliedIndex + 1)
      throw new RecoveryError(
        `the WAL starts at index ${first.index}, the state is at ${sm.appliedIndex}: entries are missing`,
      );
    let replayed = 0;
    for (const e of entries) {
      if (e.index <= sm.appliedIndex) continue;
      try {
        // Leases start their clocks when this member becomes primary, so no time is passed.
        sm.apply(e.index, decodeInternalRequest(e.data));
      } catch (err) {
        // A request that failed when first applied fails again, deterministically.
        if (!(err instanceof MvccError)) throw err;
      }
      replayed++;
    }
    const last = entries[entries.length - 1];
    return {
      sm,
      wal,
      snapshots,
      hardState,
      snapshotIndex,
      snapshotTerm,
      lastIndex: last ? last.index : Math.max(snapshotIndex, marker?.index ?? 0),
      lastTerm: last ? last.term : snapshotTerm,
      replayed,
    };
  } catch (err) {
    await wal.close();
    throw err;
  }
}
