/**
 * LocalProposer: the single-member stand-in for Raft behind the Proposer seam.
 *
 * Every proposal made in one event-loop turn joins one batch: the batch becomes consecutive log
 * entries, written to the WAL with the hard state in one write + one fdatasync (group commit),
 * then applied to the state machine in index order, and only then is each caller answered.
 * Nothing is acknowledged before it is durable. Every `snapshotCount` applied entries the state
 * is written to the snapshot store and the WAL behind it is released.
 *
 * Each start is a new term (as if the member had won an election), persisted before it serves.
 */
import { MvccError, type ResponseOf, type StateMachine, snapshot } from '../mvcc/index.js';
import type { FileSnapshotStore, Wal, WalEntry } from '../storage/index.js';
import { CanceledError, RequestTooLargeError, StoppedError } from './errors.js';
import { encodeInternalRequest, type InternalRequest } from './internal-request.js';
import type { ServerMetrics } from './metrics.js';
import type { Proposer, RaftStatus } from './proposer.js';
import type { RecoveredState } from './recover.js';

/** etcd's --snapshot-count default (3.5: 100,000 applied entries between snapshots). */
export const DEFAULT_SNAPSHOT_COUNT = 100_000;
/** Snapshots kept in the local store (etcd's --max-snapshots). */
export const SNAPSHOTS_KEPT = 5;
/** etcd's --max-request-bytes default: 1.5 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** Raft entry type of a normal entry (raftpb.EntryNormal). */
const ENTRY_NORMAL = 0;

export interface LocalProposerOptions {
  memberId: bigint;
  clusterId: bigint;
  snapshotCount?: number;
  maxRequestBytes?: number;
  /** The membership recorded with each snapshot (opaque bytes). */
  membership?: Uint8Array;
  /** Called after each applied batch (the node syncs catching-up watchers). */
  onApplied?: () => void;
  log?: (msg: string) => void;
  /** The member's metrics (proposals, WAL fsync latency, leader changes). */
  metrics?: ServerMetrics;
}

interface Waiter {
  req: InternalRequest;
  index: number;
  resolve: (resp: unknown) => void;
  reject: (err: unknown) => void;
}

export class LocalProposer implements Proposer {
  readonly sm: StateMachine;
  readonly #wal: Wal;
  readonly #snapshots: FileSnapshotStore;
  readonly #opts: Required<Omit<LocalProposerOptions, 'onApplied' | 'metrics'>> &
    Pick<LocalProposerOptions, 'onApplied' | 'metrics'>;
  readonly #term: number;
  #lastIndex: number;
  #snapshotIndex: number;
  #entries: WalEntry[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;
  #chain: Promise<void> = Promise.resolve();
  #snapshotting: Promise<void> | undefined;
  #closed = false;

  private constructor(rec: RecoveredState, term: number, opts: LocalProposerOptions) {
    this.sm = rec.sm;
    this.#wal = rec.wal;
    this.#snapshots = rec.snapshots;
    this.#term = term;
    this.#lastIndex = rec.lastIndex;
    this.#snapshotIndex = rec.snapshotIndex;
    this.#opts = {
      snapshotCount: opts.snapshotCount ?? DEFAULT_SNAPSHOT_COUNT,
      maxRequestBytes: opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
      membership: opts.membership ?? new Uint8Array(),
      log: opts.log ?? ((m) => console.error(m)),
      memberId: opts.memberId,
      clusterId: opts.clusterId,
      onApplied: opts.onApplied,
      metrics: opts.metrics,
    };
  }

  /** Takes over recovered state: starts a new term, durably, and makes this member primary for leases. */
  static async start(rec: RecoveredState, opts: LocalProposerOptions): Promise<LocalProposer> {
    const term = (rec.hardState?.term ?? 0) + 1;
    await rec.wal.save({ term, vote: opts.memberId, commit: rec.lastIndex });
    const p = new LocalProposer(rec, term, opts);
    p.sm.lessor.promote(Date.now());
    // Becoming leader of the new term is the one leader change a single member sees.
    opts.metrics?.leaderChanges.inc();
    opts.metrics?.proposalsCommitted.set(rec.lastIndex);
    opts.metrics?.proposalsApplied.set(rec.sm.appliedIndex);
    return p;
  }

  status(): RaftStatus {
    return {
      term: this.#term,
      leader: this.#opts.memberId,
      lastIndex: this.#lastIndex,
      appliedIndex: this.sm.appliedIndex,
    };
  }

  propose<R extends InternalRequest>(req: R, signal?: AbortSignal): Promise<ResponseOf<R>> {
    const metrics = this.#opts.metrics;
    const refuse = (err: Error) => {
      metrics?.proposalsFailed.inc();
      return Promise.reject(err);
    };
    if (this.#closed) return refuse(new StoppedError());
    if (signal?.aborted) return refuse(new CanceledError());
    const data = encodeInternalRequest(req);
    if (data.length > this.#opts.maxRequestBytes) return refuse(new RequestTooLargeError());
    metrics?.proposalsPending.inc();
    const index = ++this.#lastIndex;
    this.#entries.push({ index, term: this.#term, type: ENTRY_NORMAL, data });
    const p = new Promise<unknown>((resolve, reject) => this.#waiters.push({ req, index, resolve, reject }));
    if (!this.#scheduled) {
      this.#scheduled = true;
      // setImmediate: every proposal of this event-loop turn (all the requests decoded from one
      // round of socket reads) joins the batch.
      setImmediate(() => this.#flush());
    }
    return (signal ? abortable(p, signal) : p) as Promise<ResponseOf<R>>;
  }

  readIndex(signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new StoppedError());
    if (signal?.aborted) return Promise.reject(new CanceledError());
    // One member: every acknowledged write was applied before it was acknowledged.
    return Promise.resolve();
  }

  #flush(): void {
    this.#scheduled = false;
    const entries = this.#entries;
    const waiters = this.#waiters;
    this.#entries = [];
    this.#waiters = [];
    if (entries.length === 0) return;
    const commit = entries[entries.length - 1]!.index;
    const metrics = this.#opts.metrics;
    // The WAL writes and fdatasyncs the batch inside save(): its duration is the fsync latency.
    const endTimer = metrics?.walFsync.startTimer();
    const saved = this.#wal.save({ term: this.#term, vote: this.#opts.memberId, commit }, entries);
    if (endTimer)
      saved.then(
        () => {
          endTimer();
          metrics?.proposalsCommitted.set(commit);
        },
        () => {},
      );
    // The chain keeps apply in index order even if a later batch's write settles first.
    this.#chain = this.#chain
      .then(() => saved)
      .then(
        () => this.#apply(waiters),
        (err: unknown) => {
          this.#opts.log(`concord: WAL write failed; refusing writes: ${String(err)}`);
          metrics?.proposalsPending.dec(waiters.length);
          metrics?.proposalsFailed.inc(waiters.length);
          for (const w of waiters) w.reject(new StoppedError());
        },
      );
  }

  #apply(waiters: Waiter[]): void {
    const sm = this.sm;
    const now = Date.now();
    for (const w of waiters) {
      try {
        w.resolve(sm.apply(w.index, w.req, { nowMs: now }));
      } catch (err) {
        if (!(err instanceof MvccError))
          this.#opts.log(`concord: apply of entry ${w.index} failed: ${String(err)}`);
        w.reject(err);
      }
    }
    const metrics = this.#opts.metrics;
    metrics?.proposalsPending.dec(waiters.length);
    metrics?.proposalsApplied.set(sm.appliedIndex);
    this.#opts.onApplied?.();
    if (sm.appliedIndex - this.#snapshotIndex >= this.#opts.snapshotCount && !this.#snapshotting)
      this.#snapshot();
  }

  /** Captures the state now (apply continues meanwhile), saves it, then releases the WAL behind it. */
  #snapshot(): void {
    const index = this.sm.appliedIndex;
    const chunks = snapshot(this.sm);
    this.#snapshotting = (async () => {
      const info = {
        clusterId: this.#opts.clusterId,
        memberId: this.#opts.memberId,
        term: this.#term,
        index,
        membership: this.#opts.membership,
      };
      await this.#snapshots.save(info, chunks);
      await this.#wal.saveSnapshot({ index, term: this.#term });
      this.#snapshotIndex = index;
      await this.#wal.releaseTo(index);
      await this.#snapshots.retain(SNAPSHOTS_KEPT, { clusterId: info.clusterId, memberId: info.memberId });
    })()
      .catch((err: unknown) => {
        if (!this.#closed) this.#opts.log(`concord: snapshot at index ${index} failed: ${String(err)}`);
      })
      .finally(() => {
        this.#snapshotting = undefined;
      });
  }

  /** Waits for snapshots in flight (tests and shutdown). */
  async idle(): Promise<void> {
    if (this.#scheduled) this.#flush();
    await this.#chain;
    await this.#snapshotting;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.idle().catch(() => {});
    await this.#wal.close();
    await this.#snapshots.close();
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CanceledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
