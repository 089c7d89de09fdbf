/**
 * A whole cluster in one process: members (SimNode) whose raft cores are hosted by production's
 * Ready step over simulated disks, the simulated Network, clients whose operations are recorded
 * for the linearizability checker, and the Invariants checked as every Ready is handled. Time is
 * an integer; every `tickEvery` units each running member ticks. Everything random comes from
 * one SeededRng.
 */
import {
  bootstrapSnapshot,
  type ConfChange,
  type ConfState,
  type Message,
  type NodeId,
  None,
  ProposalDroppedError,
  type RaftConfig,
  type RawNode,
} from '../../src/raft/index.js';
import { SeededRng } from '../../src/raft/rng.js';
import { SimDisk } from './disk.js';
import { Invariants } from './invariants.js';
import { type Command, encodeCommand } from './kv.js';
import type { KvInput, KvOp, KvOutput } from './linearizability.js';
import { Network, type NetworkOptions } from './network.js';
import { type SimHost, SimNode } from './sim-node.js';

export { SimNode } from './sim-node.js';

export interface ClusterOptions {
  seed: number;
  voters: number;
  learners: number;
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  /** A member snapshots its state and compacts its log every this many applied entries. */
  snapshotEvery: number;
  /** Entries kept behind a snapshot when compacting. */
  compactKeep: number;
  /** Time units per raft tick. */
  tickEvery: number;
  /** Probability that a member's disk takes its turn in a time unit, and that a write syncs at once (disk speed). */
  diskRate: number;
  network: NetworkOptions;
  /** Builds the raw node (tests inject deliberately broken cores here). */
  makeNode?: (config: RaftConfig) => RawNode;
  /** The mutation `follower-ack-before-persist` (src/failpoints.ts), for this cluster only. */
  ackBeforePersist?: boolean;
}

export const DEFAULT_CLUSTER_OPTIONS: Omit<ClusterOptions, 'seed'> = {
  voters: 3,
  learners: 0,
  electionTick: 10,
  heartbeatTick: 1,
  preVote: true,
  checkQuorum: true,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  snapshotEvery: 1000,
  compactKeep: 5,
  tickEvery: 4,
  diskRate: 1,
  network: { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 2 },
};

interface PendingOp {
  readonly hist: number;
  readonly node: NodeId;
  readonly input: KvInput;
  readonly deadline: number;
  readonly ctx: string;
}

export class Cluster implements SimHost {
  readonly opts: ClusterOptions;
  readonly rng: SeededRng;
  readonly net: Network;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly inv = new Invariants();
  /** Recorded client operations (call/ret are event counters; ret = Infinity when unknown). */
  readonly history: (KvOp | undefined)[] = [];
  now = 0;
  snapshots = 0;
  snapshotsSent = 0;
  #events = 0;
  #nextOpId = 1;
  readonly #pending = new Map<number, PendingOp>(); // by client
  nextNodeId: bigint;
  /** Log lines for a failing run's report. */
  readonly trace: string[] = [];
  traceEnabled = false;

  constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.rng = new SeededRng(opts.seed);
    this.net = new Network(new SeededRng(opts.seed ^ 0x5bd1e995), opts.network);
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    for (let i = 1; i <= opts.voters; i++) voters.push(BigInt(i));
    for (let i = 1; i <= opts.learners; i++) learners.push(BigInt(opts.voters + i));
    this.nextNodeId = BigInt(opts.voters + opts.learners + 1);
    const cs: ConfState = { voters, learners, votersOutgoing: [], learnersNext: [] };
    for (const id of [...voters, ...learners]) {
      const n = new SimNode(id, new SimDisk(bootstrapSnapshot(cs), { term: 1, vote: None, commit: 1 }), this);
      this.nodes.set(id, n);
      n.start();
    }
  }

  // ---- what members see (SimHost) ---------------------------------------------------------------

  get config(): SimHost['config'] {
    const o = this.opts;
    return {
      electionTick: o.electionTick,
      heartbeatTick: o.heartbeatTick,
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      maxSizePerMsg: o.maxSizePerMsg,
      maxInflightMsgs: o.maxInflightMsgs,
    };
  }

  get snapshotEvery(): number {
    return this.opts.snapshotEvery;
  }

  get compactKeep(): number {
    return this.opts.compactKeep;
  }

  get ackBeforePersist(): boolean {
    return this.opts.ackBeforePersist === true;
  }

  get makeNode(): ((config: RaftConfig) => RawNode) | undefined {
    return this.opts.makeNode;
  }

  syncsNow(): boolean {
    return this.opts.diskRate >= 1 || this.rng.chance(this.opts.diskRate);
  }

  remove(id: NodeId): void {
    const gone = this.nodes.get(id);
    if (!gone || gone.removed) return;
    gone.removed = true;
    gone.stop();
    this.log(`${id} removed, stopping`);
  }

  snapshotTaken(): void {
    this.snapshots++;
  }

  log(line: string): void {
    if (this.traceEnabled) this.trace.push(`[t=${this.now}] ${line}`);
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** Crashes a member: everything its disk did not sync is lost. */
  crash(id: NodeId): void {
    this.node(id).crash();
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    if (n.up || n.removed) return;
    n.start();
  }

  /** Adds a brand-new member process (empty storage); it joins once a conf change adds it. */
  addProcess(): SimNode {
    const id = this.nextNodeId++;
    const n = new SimNode(id, new SimDisk(), this);
    this.nodes.set(id, n);
    n.start();
    return n;
  }

  // ---- queries ----------------------------------------------------------------------------------

  /** The running leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      const rn = n.rn;
      if (rn === undefined || rn.raft.state !== 'leader') continue;
      if (!best || rn.raft.term > best.rn!.raft.term) best = n;
    }
    return best;
  }

  upIds(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.up).map((n) => n.id);
  }

  // ---- time -------------------------------------------------------------------------------------

  /** Advances one time unit: deliver due messages, tick on tick boundaries, process Readies. */
  step(): void {
    this.now++;
    for (const { m, delivered } of this.net.due(this.now)) this.#deliver(m, delivered);
    if (this.now % this.opts.tickEvery === 0) {
      for (const n of this.nodes.values()) n.rn?.tick();
    }
    for (const n of this.nodes.values()) {
      if (n.rn && (this.opts.diskRate >= 1 || this.rng.chance(this.opts.diskRate))) n.processReady();
    }
    this.#pollClients();
  }

  run(units: number): void {
    for (let i = 0; i < units; i++) this.step();
  }

  runTicks(ticks: number): void {
    this.run(ticks * this.opts.tickEvery);
  }

  /** Runs until `pred` holds; returns false if it did not within `maxTicks`. */
  runUntil(pred: () => boolean, maxTicks: number): boolean {
    const end = this.now + maxTicks * this.opts.tickEvery;
    while (this.now < end) {
      if (pred()) return true;
      this.step();
    }
    return pred();
  }

  #deliver(m: Message, delivered: boolean): void {
    const to = this.nodes.get(m.to);
    const ok = delivered && to?.rn !== undefined;
    if (m.type === 'MsgSnap') {
      // The transport reports a snapshot's fate to the sender (etcd's SnapshotFinish/Failure).
      const from = this.nodes.get(m.from);
      if (ok) {
        to!.rn!.step(m);
        this.snapshotsSent++;
      }
      from?.rn?.reportSnapshot(m.to, ok);
      return;
    }
    if (ok) to!.rn!.step(m);
  }

  // ---- admin ------------------------------------------------------------------------------------

  /** Proposes a conf change through `via` (usually the leader). Returns false if dropped. */
  proposeConfChange(via: NodeId, cc: ConfChange): boolean {
    const rn = this.node(via).rn;
    if (!rn) return false;
    try {
      rn.proposeConfChange(cc);
      this.log(`propose ${cc.type} ${cc.nodeId} via ${via}`);
      return true;
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
  }

  /** Proposes a raw command; returns false if dropped at once. */
  propose(via: NodeId, c: Command): boolean {
    const rn = this.node(via).rn;
    if (!rn) return false;
    try {
      rn.propose(encodeCommand(c));
      return true;
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
  }

  newOpId(): number {
    return this.#nextOpId++;
  }

  // ---- clients ----------------------------------------------------------------------------------

  clientBusy(client: number): boolean {
    return this.#pending.has(client);
  }

  pendingClients(): number {
    return this.#pending.size;
  }

  /**
   * A client invokes an operation at a member. Gets use ReadIndex (a linearizable read served
   * by that member once it applied up to the read index); puts and CAS are proposals.
   */
  invoke(client: number, via: NodeId, input: KvInput, timeoutTicks: number): void {
    if (this.#pending.has(client)) throw new Error(`client ${client} is busy`);
    const n = this.node(via);
    if (!n.rn) return;
    const id = this.newOpId();
    const hist = this.history.length;
    const call = ++this.#events;
    this.history.push({ clientId: client, input, output: undefined, call, ret: Number.POSITIVE_INFINITY });
    const ctx = `op${id}`;
    try {
      if (input.kind === 'get') {
        n.rn.readIndex(new TextEncoder().encode(ctx));
      } else if (input.kind === 'put') {
        n.rn.propose(encodeCommand({ op: 'put', id, key: input.key, value: input.value }));
      } else {
        n.rn.propose(
          encodeCommand({ op: 'cas', id, key: input.key, expected: input.expected, value: input.value }),
        );
      }
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      // Refused at once: it never happened.
      this.history[hist] = undefined;
      return;
    }
    this.#pending.set(client, {
      hist,
      node: via,
      input,
      deadline: this.now + timeoutTicks * this.opts.tickEvery,
      ctx,
    });
    void id;
  }

  #complete(client: number, p: PendingOp, output: KvOutput | undefined): void {
    this.#pending.delete(client);
    const op = this.history[p.hist]!;
    if (output === undefined) {
      // Unknown outcome. A read with no answer has no effect: drop it from the history.
      if (p.input.kind === 'get') this.history[p.hist] = undefined;
      return;
    }
    this.history[p.hist] = { ...op, output, ret: ++this.#events };
  }

  #pollClients(): void {
    for (const [client, p] of this.#pending) {
      const n = this.nodes.get(p.node)!;
      if (p.input.kind === 'get') {
        const ri = n.readIndexes.get(p.ctx);
        if (ri !== undefined && n.up && n.applied >= ri) {
          n.readIndexes.delete(p.ctx);
          this.#complete(client, p, { value: n.kv.get(p.input.key) });
          continue;
        }
      } else {
        const id = Number(p.ctx.slice(2));
        const r = n.up ? n.kv.results.get(id) : undefined;
        if (r !== undefined) {
          this.#complete(client, p, p.input.kind === 'put' ? {} : { ok: r.ok });
          continue;
        }
      }
      if (this.now >= p.deadline || !n.up) this.#complete(client, p, undefined);
    }
  }

  /** Gives up on every pending operation (end of a run). */
  abandonClients(): void {
    for (const [client, p] of this.#pending) this.#complete(client, p, undefined);
  }

  completedHistory(): KvOp[] {
    return this.history.filter((op): op is KvOp => op !== undefined);
  }
}
