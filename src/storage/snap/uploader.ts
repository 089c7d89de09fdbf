/**
 * Background upload of snapshots to a (remote) store, off the Raft hot path. The node offers
 * each new local snapshot; the uploader keeps only the newest offer, skips one whose index has
 * not moved past the last upload, and retries failures with the shared jittered back-off
 * (src/backoff.ts: a draw below minBackoffMs doubling per attempt, capped at maxBackoffMs)
 * while the database is away. Failures are logged and counted in `metrics` (the server
 * exports them); nothing here ever blocks or throws into the caller.
 */
import { fullJitter } from '../../backoff.js';
import { asLogger, type Logger, type LogSink } from '../../log.js';
import type { SnapshotInfo, SnapshotSource, SnapshotStore } from './types.js';

export const UPLOAD_MIN_BACKOFF_MS = 500;
export const UPLOAD_MAX_BACKOFF_MS = 30_000;
/** Deadline of one upload attempt. */
export const UPLOAD_TIMEOUT_MS = 10 * 60_000;

export interface SnapshotUploaderOptions {
  minBackoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  /** Where failures are reported (a Logger, or a function given each line's text). Default: the process's logger. */
  log?: LogSink;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
  /** After each upload, keep only this many snapshots of the uploading member. Default: keep all. */
  retain?: number;
  /** Told of each upload and each failed attempt (for metrics). */
  onUploaded?: (info: SnapshotInfo) => void;
  onFailure?: (err: unknown) => void;
}

export interface UploaderMetrics {
  /** Snapshots uploaded. */
  uploads: number;
  /** Failed attempts (each is logged). */
  failures: number;
  /**
   * Offers dropped because their index had not moved past the last upload, or because the
   * store already held a snapshot of the cluster at that index or later (another member, an
   * earlier leader, uploaded it): each index is uploaded once per cluster.
   */
  skipped: number;
  lastUploadedIndex: number;
  lastError: string | undefined;
  /** An offer is waiting or being uploaded. */
  pending: boolean;
}

interface Offer {
  info: SnapshotInfo;
  open: () => Promise<SnapshotSource> | SnapshotSource;
}

export class SnapshotUploader {
  readonly metrics: UploaderMetrics = {
    uploads: 0,
    failures: 0,
    skipped: 0,
    lastUploadedIndex: 0,
    lastError: undefined,
    pending: false,
  };
  readonly #store: SnapshotStore;
  readonly #min: number;
  readonly #max: number;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #opts: SnapshotUploaderOptions;
  #next: Offer | undefined;
  #running: Promise<void> | undefined;
  #active = false;
  #closed = new AbortController();
  #idleWaiters: (() => void)[] = [];

  constructor(store: SnapshotStore, opts: SnapshotUploaderOptions = {}) {
    this.#store = store;
    this.#min = opts.minBackoffMs ?? UPLOAD_MIN_BACKOFF_MS;
    this.#max = opts.maxBackoffMs ?? UPLOAD_MAX_BACKOFF_MS;
    if (!(this.#min > 0 && this.#max >= this.#min))
      throw new RangeError(
        `snapshot uploader: need 0 < minBackoffMs ≤ maxBackoffMs, got ${this.#min}, ${this.#max}`,
      );
    this.#timeoutMs = opts.timeoutMs ?? UPLOAD_TIMEOUT_MS;
    this.#log = asLogger(opts.log);
    this.#random = opts.random ?? Math.random;
    this.#opts = opts;
  }

  /**
   * Queues a snapshot for upload, replacing any older offer still waiting. `open` is called for
   * each attempt and must yield the snapshot's bytes afresh (e.g. from the file store).
   */
  offer(info: SnapshotInfo, open: Offer['open']): void {
    if (this.#closed.signal.aborted) return;
    if (info.index <= this.metrics.lastUploadedIndex || (this.#next && info.index <= this.#next.info.index)) {
      this.metrics.skipped++;
      return;
    }
    this.#next = { info, open };
    this.metrics.pending = true;
    // A flag, not the promise: a run wakes idle() waiters before its promise settles, and an
    // offer made right then must start a new run rather than join the finished one.
    if (!this.#active) {
      this.#active = true;
      this.#running = this.#run();
    }
  }

  /** Resolves when no offer is waiting or uploading (for tests and shutdown). */
  idle(): Promise<void> {
    if (!this.metrics.pending) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** Stops retrying; an upload in flight is aborted. */
  async close(): Promise<void> {
    this.#closed.abort();
    this.#next = undefined;
    await this.#running;
  }

  async #run(): Promise<void> {
    let attempt = 0;
    const closed = this.#closed.signal;
    while (this.#next && !closed.aborted) {
      const offer = this.#next;
      try {
        const signal = AbortSignal.any([closed, AbortSignal.timeout(this.#timeoutMs)]);
        const call = { signal, timeoutMs: this.#timeoutMs };
        const { clusterId, memberId, index } = offer.info;
        const held = await this.#store.latest({ clusterId }, call);
        if (held && held.index >= index) {
          this.metrics.skipped++;
        } else {
          await this.#store.save(offer.info, await offer.open(), call);
          this.metrics.uploads++;
          this.#opts.onUploaded?.(offer.info);
          if (this.#opts.retain !== undefined)
            await this.#store.retain(this.#opts.retain, { clusterId, memberId }, call);
        }
        this.metrics.lastUploadedIndex = Math.max(this.metrics.lastUploadedIndex, index);
        this.metrics.lastError = undefined;
        if (this.#next === offer) this.#next = undefined;
        attempt = 0;
      } catch (err) {
        if (closed.aborted) break;
        this.metrics.failures++;
        this.#opts.onFailure?.(err);
        this.metrics.lastError = err instanceof Error ? err.message : String(err);
        const wait = fullJitter(attempt, { baseMs: this.#min, capMs: this.#max }, this.#random);
        attempt++;
        this.#log.warn(
          `snapshot upload of index ${offer.info.index} to ${this.#store.kind} store failed ` +
            `(attempt ${attempt}, retrying in ${Math.round(wait)} ms): ${this.metrics.lastError}`,
        );
        await sleep(wait, closed);
      }
    }
    this.metrics.pending = false;
    this.#active = false;
    for (const w of this.#idleWaiters.splice(0)) w();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    t.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
