/**
 * Auto-compaction, as etcd's `--auto-compaction-mode` / `--auto-compaction-retention`:
 *
 * - `periodic`: keep the history of the last `retention` (a duration; a bare number means
 *   hours, as etcd reads it). Every `min(retention, 1h)` the compactor compacts to the revision
 *   the store had `retention` ago.
 * - `revision`: keep the last `retention` revisions. Every 5 minutes it compacts to
 *   `current - retention`.
 *
 * Only the leader compacts (a compaction is a write, proposed through Raft like any other); the
 * clock and the revision source are injected so the schedule can be tested without waiting.
 */
import { asLogger, type LogSink } from '../../log.js';

export type CompactionMode = 'periodic' | 'revision';

/** etcd's revision compactor checks every 5 minutes. */
export const REVISION_CHECK_MS = 5 * 60_000;
const HOUR_MS = 60 * 60_000;

export interface CompactorHost {
  isLeader(): boolean;
  revision(): number;
  compactRevision(): number;
  compact(revision: number): Promise<void>;
  /** Where the compactor logs (a Logger, or a function given each line's text). */
  log: LogSink;
}

export interface CompactorOptions {
  mode: CompactionMode;
  /** Milliseconds (periodic) or revisions (revision). */
  retention: number;
  /** How often to look (default: etcd's schedule for the mode). */
  checkMs?: number;
}

/** The interval at which the compactor acts, as etcd picks it. */
export function compactionInterval(o: CompactorOptions): number {
  if (o.checkMs !== undefined) return o.checkMs;
  return o.mode === 'revision' ? REVISION_CHECK_MS : Math.min(o.retention, HOUR_MS);
}

export class Compactor {
  readonly #host: CompactorHost;
  readonly #opts: CompactorOptions;
  /** (time, revision) samples, oldest first: where the store stood `retention` ago. */
  #samples: { at: number; rev: number }[] = [];
  #lastRun = 0;
  #busy = false;

  constructor(host: CompactorHost, opts: CompactorOptions) {
    if (!(opts.retention > 0)) throw new RangeError('auto-compaction retention must be positive');
    this.#host = host;
    this.#opts = opts;
  }

  /** How often `tick` should be called: a tenth of the interval, so samples are fine-grained. */
  get tickMs(): number {
    return Math.max(10, Math.floor(compactionInterval(this.#opts) / 10));
  }

  /** Records a sample and compacts if due. Returns the revision compacted to, if any. */
  async tick(now: number): Promise<number | undefined> {
    const h = this.#host;
    const rev = h.revision();
    this.#samples.push({ at: now, rev });
    if (this.#lastRun === 0) this.#lastRun = now;
    const interval = compactionInterval(this.#opts);
    if (now - this.#lastRun < interval || this.#busy) return undefined;
    let target: number;
    if (this.#opts.mode === 'revision') target = rev - this.#opts.retention;
    else {
      // The newest sample at least `retention` old.
      const cutoff = now - this.#opts.retention;
      let i = -1;
      for (let k = 0; k < this.#samples.length && this.#samples[k]!.at <= cutoff; k++) i = k;
      if (i < 0) return undefined;
      target = this.#samples[i]!.rev;
      this.#samples = this.#samples.slice(i);
    }
    this.#lastRun = now;
    if (!h.isLeader() || target <= h.compactRevision() || target <= 0) return undefined;
    this.#busy = true;
    try {
      await h.compact(target);
      asLogger(h.log).info(`auto-compaction (${this.#opts.mode}) compacted to revision ${target}`, {
        revision: target,
      });
      return target;
    } catch (err) {
      asLogger(h.log).warn(`auto-compaction to revision ${target} failed: ${String(err)}`, {
        revision: target,
      });
      return undefined;
    } finally {
      this.#busy = false;
    }
  }
}

/**
 * etcd's `--auto-compaction-retention`: for `periodic`, a duration ("30m", "1h") or a bare
 * number of hours ("1"); for `revision`, a number of revisions.
 */
export function parseRetention(
  mode: CompactionMode,
  value: string,
  parseDuration: (v: string) => number,
): number {
  if (mode === 'revision') {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new RangeError(
        `--auto-compaction-retention: expected a number of revisions, got ${JSON.stringify(value)}`,
      );
    return n;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * HOUR_MS;
  return parseDuration(value);
}
