/**
 * The member's snapshots: made every --snapshot-count applied entries (or on demand, for
 * Defragment), saved to the local store, and the WAL and in-memory log compacted behind them;
 * received from a leader and installed; opened for a follower that needs one.
 *
 * A snapshot captures the state at once (apply goes on meanwhile) and is written in the
 * background: only one is in flight, and installing or opening one waits for it.
 */
import { FAILPOINTS, failpoint } from '../../failpoints.js';
import { type Logger, took } from '../../log.js';
import {
  checkedSnapshot,
  restore,
  type StateMachine,
  type StateMachineOptions,
  snapshot,
} from '../../mvcc/index.js';
import type { MemoryStorage, Snapshot } from '../../raft/index.js';
import type { FileSnapshotStore, SnapshotMeta, Wal } from '../../storage/index.js';
import { Membership } from './membership.js';

/** Snapshots kept in the local store (etcd's --max-snapshots). */
export const SNAPSHOTS_KEPT = 5;
/** Entries kept in memory behind a snapshot for slow followers (etcd's SnapshotCatchUpEntries). */
export const SNAPSHOT_CATCH_UP_ENTRIES = 5000;

export interface SnapshotHost {
  readonly sm: StateMachine;
  readonly smOptions: StateMachineOptions;
  readonly membership: Membership;
  readonly storage: MemoryStorage;
  readonly wal: Wal;
  readonly store: FileSnapshotStore;
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly log: Logger;
  /** Applied entries between snapshots (--snapshot-count). */
  readonly snapshotCount: number;
  readonly catchUpEntries: number | undefined;
  /** A new local snapshot is durable. */
  onSaved(meta: SnapshotMeta): void;
  /** The state was replaced by an installed snapshot (leases and peers follow it). */
  onInstalled(members: Membership): void;
  /** Whether the member is stopping (a failed save is then not worth a log line). */
  closed(): boolean;
}

export class Snapshotter {
  readonly #host: SnapshotHost;
  #index: number;
  #inFlight: Promise<void> | undefined;

  constructor(host: SnapshotHost, index: number) {
    this.#host = host;
    this.#index = index;
  }

  /** The index of the newest snapshot saved or installed. */
  get index(): number {
    return this.#index;
  }

  /** Resolves once no snapshot is being written. */
  async idle(): Promise<void> {
    await this.#inFlight;
  }

  /** Starts a snapshot if --snapshot-count entries were applied since the last one. */
  maybeSnapshot(): void {
    const h = this.#host;
    if (h.sm.appliedIndex - this.#index >= h.snapshotCount && this.#canSnapshot() && !this.#inFlight)
      this.#snapshot();
  }

  /**
   * Snapshots what is applied now, whatever --snapshot-count says, and releases the WAL behind
   * it (Defragment: the nearest thing here to etcd's rewrite of its database file). Resolves with
   * the snapshot's index once it is durable.
   */
  async snapshotNow(): Promise<number> {
    await this.#inFlight;
    if (this.#host.sm.appliedIndex > this.#index && this.#canSnapshot()) this.#snapshot();
    await this.#inFlight;
    return this.#index;
  }

  /** A snapshot's term is looked up in the log: the applied entries must be in it. */
  #canSnapshot(): boolean {
    const h = this.#host;
    return h.sm.appliedIndex <= h.storage.lastIndex() && !h.closed();
  }

  #snapshot(): void {
    const h = this.#host;
    const started = performance.now();
    const index = h.sm.appliedIndex;
    const term = h.storage.term(index);
    const confState = h.membership.confState;
    const info = {
      clusterId: h.clusterId,
      memberId: h.memberId,
      term,
      index,
      membership: h.membership.encode(),
    };
    const chunks = snapshot(h.sm);
    this.#inFlight = (async () => {
      const meta = await h.store.save(info, chunks);
      await h.wal.saveSnapshot({ index, term });
      if (index > h.storage.snapshot().metadata.index) {
        h.storage.createSnapshot(index, confState, new Uint8Array(0));
        const compactTo = index - (h.catchUpEntries ?? SNAPSHOT_CATCH_UP_ENTRIES);
        if (compactTo > h.storage.firstIndex()) h.storage.compact(compactTo);
      }
      this.#index = Math.max(this.#index, index);
      await h.wal.releaseTo(index);
      await this.#retain();
      h.log.info(`saved snapshot at index ${index}`, {
        index,
        size: meta.size,
        took: took(performance.now() - started),
      });
      h.onSaved(meta);
    })()
      .catch((err: unknown) => {
        if (!h.closed()) h.log.error(`snapshot at index ${index} failed: ${String(err)}`, { index });
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
  }

  /** Saves a snapshot streamed by the leader, before the core is told of it. */
  async receive(
    meta: { term: number; index: number },
    membership: Uint8Array,
    data: AsyncIterable<Uint8Array>,
  ) {
    const h = this.#host;
    // Checked whole before it is stored: a stream cut short must fail here, not at install.
    await h.store.save(
      { clusterId: h.clusterId, memberId: h.memberId, ...meta, membership },
      checkedSnapshot(data),
    );
  }

  /** A local snapshot for a follower that needs one. */
  async open(index: number): Promise<{ membership: Uint8Array; data: AsyncIterable<Uint8Array> }> {
    await this.#inFlight;
    const meta = await this.#find(index);
    if (!meta) throw new Error(`snapshot at index ${index} is not in the local store`);
    return { membership: meta.membership, data: await this.#host.store.open(meta.id) };
  }

  /** Installs a snapshot the core accepted from the leader (received into the store before). */
  async install(snap: Snapshot): Promise<void> {
    const h = this.#host;
    await this.#inFlight;
    const { index, term } = snap.metadata;
    const meta = await this.#find(index);
    if (!meta) throw new Error(`snapshot at index ${index} was accepted but is not in the local store`);
    const restored = await restore(await h.store.open(meta.id), h.smOptions);
    if (FAILPOINTS) failpoint('snapshot-install');
    h.storage.applySnapshot({ data: new Uint8Array(0), metadata: snap.metadata });
    await h.wal.saveSnapshot({ index, term });
    h.sm.adopt(restored);
    const m = Membership.decode(meta.membership);
    h.membership.members.clear();
    for (const [id, r] of m.members) h.membership.members.set(id, r);
    for (const id of m.removed) h.membership.removed.add(id);
    h.membership.confState = snap.metadata.confState;
    h.onInstalled(m);
    this.#index = index;
    h.log.info(`installed snapshot at index ${index} (revision ${h.sm.revision})`, {
      index,
      revision: h.sm.revision,
      size: meta.size,
    });
    await this.#retain();
  }

  async #find(index: number): Promise<SnapshotMeta | undefined> {
    const h = this.#host;
    const all = await h.store.list({ clusterId: h.clusterId, memberId: h.memberId });
    return all.find((m) => m.index === index);
  }

  #retain(): Promise<unknown> {
    const h = this.#host;
    return h.store.retain(SNAPSHOTS_KEPT, { clusterId: h.clusterId, memberId: h.memberId });
  }
}
