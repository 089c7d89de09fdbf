/**
 * The member's log as the Ready step sees it in production: the WAL on disk (one write and one
 * fdatasync per Ready) and the MemoryStorage the core reads.
 */
import { type Logger, took } from '../../log.js';
import type { Entry, HardState, MemoryStorage } from '../../raft/index.js';
import type { Wal, WalEntry } from '../../storage/index.js';
import type { ServerMetrics } from '../metrics.js';
import type { LogPort } from './ready-step.js';

/** etcd's warnSyncDuration: a WAL save whose fsync takes longer is warned about ("slow fdatasync"). */
export const SLOW_FSYNC_MS = 1000;

const ENTRY_NORMAL = 0;
const ENTRY_CONF_CHANGE = 1;

export class WalLog implements LogPort<Promise<void>> {
  readonly storage: MemoryStorage;
  readonly #wal: Wal;
  readonly #log: Logger;
  readonly #metrics: ServerMetrics | undefined;

  constructor(wal: Wal, storage: MemoryStorage, log: Logger, metrics: ServerMetrics | undefined) {
    this.#wal = wal;
    this.storage = storage;
    this.#log = log;
    this.#metrics = metrics;
  }

  async save(hardState: HardState | undefined, entries: Entry[]): Promise<void> {
    const endTimer = this.#metrics?.walFsync.startTimer();
    const t0 = performance.now();
    await this.#wal.save(hardState, entries.map(toWalEntry));
    endTimer?.();
    const ms = performance.now() - t0;
    // etcd's warning (wal.go): a save whose fdatasync took over a second.
    if (ms > SLOW_FSYNC_MS)
      this.#log.warn('slow fdatasync', { took: took(ms), 'expected-duration': took(SLOW_FSYNC_MS) });
  }

  append(entries: Entry[]): void {
    this.storage.append(entries);
  }

  setHardState(hardState: HardState): void {
    this.storage.setHardState(hardState);
    this.#metrics?.proposalsCommitted.set(hardState.commit);
  }
}

export function toRaftEntry(e: WalEntry): Entry {
  return {
    term: e.term,
    index: e.index,
    type: e.type === ENTRY_CONF_CHANGE ? 'confChange' : 'normal',
    data: e.data,
  };
}

function toWalEntry(e: Entry): WalEntry {
  return {
    term: e.term,
    index: e.index,
    type: e.type === 'confChange' ? ENTRY_CONF_CHANGE : ENTRY_NORMAL,
    data: e.data,
  };
}
