/**
 * One simulated member, hosted by production's Ready step (src/server/raft/ready-step.ts): the
 * same order of sends, applies, writes and snapshots that `concord serve` runs, with a
 * simulated disk for the WAL, the simulated network for the transport, the simulated clock, and
 * a KvStore as the state machine. A write may stay in flight until a later time unit (a slow
 * disk); until it is synced the step waits, and a crash loses it. A restart rebuilds the core's log from what the disk synced with
 * production's `recoveredLog`.
 */
import {
  type ConfState,
  decodeConfChange,
  type Entry,
  type MemoryStorage,
  type Message,
  type NodeId,
  type RaftConfig,
  RawNode,
  type Snapshot,
  type SoftState,
} from '../../src/raft/index.js';
import { ctxKey } from '../../src/raft/read-only.js';
import { SeededRng } from '../../src/raft/rng.js';
import { ReadyStep } from '../../src/server/raft/ready-step.js';
import { recoveredLog } from '../../src/server/raft/recovered-log.js';
import type { SimDisk, SimWrite } from './disk.js';
import type { Invariants } from './invariants.js';
import { decodeCommand, KvStore } from './kv.js';
import type { Network } from './network.js';

/** What a member sees of the cluster around it. */
export interface SimHost {
  readonly inv: Invariants;
  readonly net: Network;
  readonly rng: SeededRng;
  /** The simulated clock (time units). */
  readonly now: number;
  readonly config: Omit<RaftConfig, 'id' | 'storage' | 'rng'>;
  readonly snapshotEvery: number;
  readonly compactKeep: number;
  /** The mutation `follower-ack-before-persist`, for this cluster only. */
  readonly ackBeforePersist: boolean;
  readonly makeNode: ((config: RaftConfig) => RawNode) | undefined;
  log(line: string): void;
  /** Whether a write just issued is synced on this turn (else on a later one). */
  syncsNow(): boolean;
  /** A committed removal of `id`: that member stops for good. */
  remove(id: NodeId): void;
  snapshotTaken(): void;
}

export class SimNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  readonly #host: SimHost;
  /** The core's in-memory log (lost on a crash, rebuilt from the disk). */
  storage: MemoryStorage;
  rn: RawNode | undefined;
  kv = new KvStore();
  confState: ConfState;
  appliedIndex = 0;
  /** Removed from the cluster and stopped for good. */
  removed = false;
  /** Crash while the next write is in flight (a power loss mid-Ready). */
  crashMidWrite = false;
  restartAt = -1;
  /** ReadIndex answers: request ctx -> read index. */
  readonly readIndexes = new Map<string, number>();
  #step: ReadyStep<SimWrite> | undefined;
  /** The Ready being handled, suspended on its write. */
  #cycle: Generator<SimWrite, void, void> | undefined;

  constructor(id: NodeId, disk: SimDisk, host: SimHost) {
    this.id = id;
    this.disk = disk;
    this.#host = host;
    const d = disk.recover();
    this.storage = recoveredLog(d);
    this.confState = d.confState;
  }

  get up(): boolean {
    return this.rn !== undefined;
  }

  get applied(): number {
    return this.rn ? this.appliedIndex : 0;
  }

  /** Starts (or restarts) from what the disk synced. */
  start(): void {
    const h = this.#host;
    const d = this.disk.recover();
    this.storage = recoveredLog(d);
    const config: RaftConfig = {
      ...h.config,
      id: this.id,
      storage: this.storage,
      rng: new SeededRng(h.rng.int(2 ** 31) + 1),
    };
    const rn = h.makeNode ? h.makeNode(config) : new RawNode(config);
    this.rn = rn;
    // The state machine restarts from the snapshot; committed entries after it are replayed.
    this.kv = KvStore.restore(d.snapshotData ?? new Uint8Array(0));
    this.appliedIndex = d.snapshotIndex;
    this.confState = d.confState;
    this.readIndexes.clear();
    this.crashMidWrite = false;
    this.#cycle = undefined;
    this.#step = this.#makeStep(rn);
    h.log(`start ${this.id}`);
  }

  /** A crash: the process and the write in flight are lost, the synced disk stays. */
  crash(): void {
    if (!this.rn) return;
    this.stop();
    this.disk.lose();
    this.#host.log(`crash ${this.id}`);
  }

  /** The process stops (crash or removal). */
  stop(): void {
    this.rn = undefined;
    this.#cycle = undefined;
    this.#step = undefined;
    this.kv = new KvStore();
    this.readIndexes.clear();
  }

  /**
   * The member's turn at its disk: the write a Ready waits on (if any) is synced and that Ready
   * goes on; then Readies are handled until one's write is left in flight for a later turn.
   */
  processReady(): void {
    const h = this.#host;
    for (;;) {
      const rn = this.rn;
      if (!rn || !this.#step) return;
      if (this.#cycle) {
        const hs = this.disk.sync();
        if (hs) h.inv.onPersistCommit(this.id, hs.commit);
      } else {
        if (!rn.hasReady()) return;
        this.#cycle = this.#step.cycle(rn);
      }
      const r = this.#cycle.next();
      if (this.rn !== rn) return; // it applied its own removal
      if (r.done) {
        this.#cycle = undefined;
        continue;
      }
      if (this.crashMidWrite) {
        this.crash();
        return;
      }
      // A slow disk syncs on a later turn; meanwhile a crash loses the write.
      if (!h.syncsNow()) return;
    }
  }

  #makeStep(rn: RawNode): ReadyStep<SimWrite> {
    const h = this.#host;
    const alive = () => this.rn === rn;
    const send = (messages: Message[]) => {
      if (alive()) for (const m of messages) h.net.send(m, h.now);
    };
    return new ReadyStep<SimWrite>(
      {
        log: {
          save: (hardState, entries) => {
            if (entries.length > 0) {
              const storage = this.storage;
              h.inv.onAppend(this.id, entries, (i) =>
                i >= storage.firstIndex() - 1 && i <= storage.lastIndex() ? storage.term(i) : undefined,
              );
            }
            return this.disk.write(hardState, entries);
          },
          append: (entries) => this.storage.append(entries),
          setHardState: (hardState) => this.storage.setHardState(hardState),
        },
        transport: {
          send,
          // Production's delay is one of the network's: the simulated network delays already.
          sendAfterAnswers: send,
        },
        applier: {
          apply: (entries) => {
            for (const e of entries) {
              if (!alive()) return;
              if (e.index <= this.appliedIndex) continue;
              h.inv.onApply(this.id, e);
              this.#apply(rn, e);
              this.appliedIndex = e.index;
            }
          },
          onReadStates: (readStates) => {
            for (const rs of readStates) this.readIndexes.set(ctxKey(rs.requestCtx), rs.index);
          },
          // Clients poll for their reads (Cluster), as production's waiters are served here.
          serveReads: () => {},
        },
        snapshots: {
          install: (snap) => {
            this.#install(snap);
            return undefined;
          },
          maybeSnapshot: () => this.#maybeSnapshot(),
        },
        clock: { now: () => h.now },
        onSoftState: (ss) => this.#onSoftState(rn, ss),
      },
      { ackBeforePersist: h.ackBeforePersist },
    );
  }

  #onSoftState(rn: RawNode, ss: SoftState): void {
    this.#host.log(`${this.id} is ${ss.role} (lead ${ss.lead}) term ${rn.raft.term}`);
    if (ss.role === 'leader') this.#host.inv.onLeader(this.id, rn.raft.term, rn.raft.raftLog);
  }

  /** As production's Snapshotter.install: the log, the disk, then the state machine. */
  #install(snap: Snapshot): void {
    const { index, term, confState } = snap.metadata;
    this.#host.inv.onSnapshot(this.id, index, term);
    this.storage.applySnapshot(snap);
    this.disk.saveSnapshot(snap);
    this.kv = KvStore.restore(snap.data);
    this.confState = confState;
    this.appliedIndex = index;
  }

  #apply(rn: RawNode, e: Entry): void {
    const h = this.#host;
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      this.confState = rn.applyConfChange(cc);
      h.log(
        `${this.id} applied ${cc.type} ${cc.nodeId} at ${e.index}: voters ${this.confState.voters} learners ${this.confState.learners}`,
      );
      // A removed member shuts down once its removal is committed, as etcd's does (its peers
      // refuse its messages as from a removed member, and it exits). Left running without
      // PreVote, it would keep disrupting elections with ever higher terms.
      if (cc.type === 'removeNode') h.remove(cc.nodeId);
      return;
    }
    if (e.data.length === 0) return;
    this.kv.apply(decodeCommand(e.data));
  }

  /** As production's Snapshotter: only an applied index already in the log can be snapshotted. */
  #maybeSnapshot(): void {
    const h = this.#host;
    const applied = this.appliedIndex;
    if (applied - this.storage.snapshot().metadata.index < h.snapshotEvery) return;
    if (applied > this.storage.lastIndex()) return;
    this.disk.saveSnapshot(this.storage.createSnapshot(applied, this.confState, this.kv.snapshot()));
    h.snapshotTaken();
    const compactTo = applied - h.compactKeep;
    if (compactTo > this.storage.firstIndex() - 1) this.storage.compact(compactTo);
  }
}
