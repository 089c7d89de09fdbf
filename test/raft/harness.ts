/**
 * A synchronous test network of RawNodes (like etcd raft's `newNetwork`): each node is hosted by
 * the contract (persist to its MemoryStorage, send, apply, advance), and messages are delivered
 * in rounds until the network is quiet. Filters drop messages for scripted interactions.
 */
import {
  bootstrapSnapshot,
  type ConfState,
  decodeConfChange,
  type Entry,
  MemoryStorage,
  type Message,
  type NodeId,
  None,
  type RaftConfig,
  RawNode,
  type ReadState,
  SeededRng,
} from '../../src/raft/index.js';

export interface TestNode {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
}

export type Filter = (m: Message) => boolean;

export class TestNet {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages dropped when any filter returns true. */
  drops: Filter[] = [];
  /** Every message delivered, for assertions. */
  delivered: Message[] = [];
  /** Messages sent by hosts and not yet delivered. */
  inflight: Message[] = [];
  readonly config: Partial<RaftConfig>;

  constructor(voters: number, config: Partial<RaftConfig> = {}, learners = 0) {
    this.config = config;
    const cs: ConfState = {
      voters: Array.from({ length: voters }, (_, i) => BigInt(i + 1)),
      learners: Array.from({ length: learners }, (_, i) => BigInt(voters + i + 1)),
      votersOutgoing: [],
      learnersNext: [],
    };
    for (const id of [...cs.voters, ...cs.learners]) this.add(id, cs);
  }

  /** Adds a node; with a ConfState it is a founding member, without it joins empty. */
  add(id: NodeId, cs?: ConfState): TestNode {
    const storage = new MemoryStorage();
    if (cs) {
      storage.applySnapshot(bootstrapSnapshot(cs));
      storage.setHardState({ term: 1, vote: None, commit: 1 });
    }
    const n: TestNode = { id, storage, rn: this.#make(id, storage), applied: [], readStates: [] };
    this.nodes.set(id, n);
    return n;
  }

  #make(id: NodeId, storage: MemoryStorage): RawNode {
    return new RawNode({
      id,
      storage,
      electionTick: 10,
      heartbeatTick: 1,
      rng: new SeededRng(Number(id) * 7919),
      ...this.config,
    });
  }

  /** Restarts a node from its storage (unpersisted state is lost). */
  restart(id: NodeId | number): TestNode {
    const n = this.node(id);
    n.rn = this.#make(n.id, n.storage);
    return n;
  }

  node(id: NodeId | number): TestNode {
    const n = this.nodes.get(BigInt(id));
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId | number) {
    return this.node(id).rn.raft;
  }

  /** Processes a node's Readies; its messages join `inflight`. */
  process(id: NodeId): void {
    const n = this.node(id);
    while (n.rn.hasReady()) {
      const rd = n.rn.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      this.inflight.push(...rd.messages);
      for (const e of rd.committedEntries) {
        n.applied.push(e);
        if (e.type === 'confChange') n.rn.applyConfChange(decodeConfChange(e.data));
      }
      n.readStates.push(...rd.readStates);
      n.rn.advance(rd);
    }
  }

  /** Delivers messages in rounds until none are left (or maxRounds). */
  settle(maxRounds = 200): void {
    for (let round = 0; round < maxRounds; round++) {
      for (const id of this.nodes.keys()) this.process(id);
      if (this.inflight.length === 0) return;
      const batch = this.inflight;
      this.inflight = [];
      for (const m of batch) {
        if (this.drops.some((f) => f(m))) continue;
        const to = this.nodes.get(m.to);
        if (!to) continue;
        this.delivered.push(m);
        to.rn.step(m);
      }
    }
    throw new Error('network did not settle');
  }

  /** Takes the pending messages without delivering them. */
  take(): Message[] {
    for (const id of this.nodes.keys()) this.process(id);
    const out = this.inflight;
    this.inflight = [];
    return out;
  }

  tick(id: NodeId | number, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).rn.tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.rn.tick();
      this.settle();
    }
  }

  elect(id: NodeId | number): void {
    this.node(id).rn.campaign();
    this.settle();
  }

  /** Drops everything to and from the given nodes. */
  isolate(...ids: (NodeId | number)[]): void {
    const set = new Set(ids.map((x) => BigInt(x)));
    this.drops.push((m) => set.has(m.from) !== set.has(m.to));
  }

  cut(a: NodeId | number, b: NodeId | number): void {
    const x = BigInt(a);
    const y = BigInt(b);
    this.drops.push((m) => (m.from === x && m.to === y) || (m.from === y && m.to === x));
  }

  heal(): void {
    this.drops = [];
  }

  propose(id: NodeId | number, s: string): void {
    this.node(id).rn.propose(new TextEncoder().encode(s));
    this.settle();
  }

  /** Data of the normal, non-empty entries a node applied. */
  appliedData(id: NodeId | number): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export function ent(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: enc(data) };
}
