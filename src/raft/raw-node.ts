/**
 * RawNode: the synchronous face of the consensus core, driven by its host.
 *
 * The host contract. In a loop:
 *   1. Feed inputs: `tick()` on each clock tick; `step(m)` for each message from a peer;
 *      `propose()`, `proposeConfChange()`, `readIndex()`, `transferLeader()` for local requests.
 *   2. When `hasReady()`, take `rd = ready()` and, in this order:
 *      a. persist: `rd.snapshot` (if any), then append `rd.entries` (replacing any suffix they
 *         conflict with), then `rd.hardState` — durably (fsync when `rd.mustSync`);
 *      b. send `rd.messages` (only now: votes and append acknowledgements promise that (a) is
 *         durable); report a snapshot message's fate with `reportSnapshot()`;
 *      c. apply: install `rd.snapshot` in the state machine, then apply `rd.committedEntries` in
 *         order, calling `applyConfChange()` for each conf change entry; serve `rd.readStates`
 *         once the applied index reaches their index;
 *      d. call `advance(rd)`.
 *   Calling `ready()` twice without `advance()` is a ContractError.
 *
 * The leader counts its own log toward the commit quorum only after (a), at `advance()`. That
 * is what lets a leader host send its MsgApp/MsgHeartbeat/MsgSnap messages *while* persisting
 * (thesis §10.2.1, as etcd allows): nothing it sends depends on its own durability. Every other
 * message (votes, acknowledgements of any kind from a non-leader) must wait for (a).
 *
 * The order Concord's server uses is ReadyStep (src/server/raft/ready-step.ts), which both
 * `concord serve` (RaftProposer) and the simulator (test/sim) run:
 *   - a leader sends (b) first, before anything else of the Ready, except its appends without
 *     entries (commit updates, probes), which it sends once (c) has answered the clients;
 *   - then the accepted snapshot is installed and `rd.committedEntries` applied (c), *before*
 *     this Ready's entries and hard state are written and synced (a);
 *   - then the in-memory log takes the entries, and only then a non-leader sends (b): its votes
 *     and acknowledgements promise entries that are now durable;
 *   - a snapshot of the applied state is taken only once the applied index is in that log;
 *   - then `advance()`.
 * Why it is safe. A committed entry is already durable on a quorum, whatever this member's own
 * disk holds (etcd's raft allows the same when storage writes are synchronous): a client
 * answered from it can lose it only if a quorum loses it. A leader's own append counts toward
 * that quorum only after its own sync: its Progress starts at `raftLog.lastStableIndex()` on
 * election (Raft.reset), `appendEntry()` does not touch it, and it moves only in
 * `Raft.onPersisted()`, called by `advance()`, which the step calls after its write resolves.
 * So nothing the leader sends early promises its own durability, and nothing commits on its
 * say-so before its fsync. A follower's acknowledgement is the one promise that must wait:
 * sending it before the sync is the mutation `follower-ack-before-persist`, which the
 * simulator's seeds catch (test/sim/host-order.test.ts).
 */
import { decodeConfChange, encodeConfChange } from './confchange.js';
import { ContractError, ProposalDroppedError, StepLocalMessageError } from './errors.js';
import { Raft, type RaftConfig } from './raft.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  isLocalMessage,
  isResponseMessage,
  type Message,
  message,
  type NodeId,
  None,
  type Ready,
  type SoftState,
  type StateRole,
} from './types.js';

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lead: NodeId;
  readonly role: StateRole;
  readonly leadTransferee: NodeId;
}

export class RawNode {
  readonly raft: Raft;
  #prevSoft: SoftState;
  #prevHard: HardState;
  #outstanding = false;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.#prevSoft = this.raft.softState();
    this.#prevHard = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (tests, or a single-node bootstrap). */
  campaign(): void {
    this.raft.step(message({ type: 'MsgHup', from: this.raft.id }));
  }

  /** Proposes one entry. @throws ProposalDroppedError (no leader known, transfer in progress …). */
  propose(data: Uint8Array): void {
    this.raft.step(
      message({
        type: 'MsgProp',
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: 'normal', data }],
      }),
    );
  }

  /** Proposes several entries as one append (one Ready, few messages). */
  proposeBatch(datas: readonly Uint8Array[]): void {
    if (datas.length === 0) return;
    const entries: Entry[] = datas.map((data) => ({ term: 0, index: 0, type: 'normal', data }));
    this.raft.step(message({ type: 'MsgProp', from: this.raft.id, entries }));
  }

  /**
   * Proposes a membership change. Takes effect when applied. The leader silently replaces it
   * with an empty entry if another change is not applied yet: watch the applied config.
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.step(
      message({
        type: 'MsgProp',
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: 'confChange', data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Applies a committed conf change entry's change; returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Decodes a conf change entry's data. */
  static decodeConfChange(data: Uint8Array): ConfChange {
    return decodeConfChange(data);
  }

  /**
   * Feeds a message from a peer. Local message types are refused; responses from nodes outside
   * the configuration and proposals the leader cannot take are dropped (the sender retries).
   */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new StepLocalMessageError();
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from)) return;
    try {
      this.raft.step(m);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  /**
   * Requests a linearizable read point; the answer is a ReadState carrying `ctx` (unique per
   * request) in a later Ready. Dropped silently when no leader is known: time it out.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(message({ type: 'MsgReadIndex', from: None, context: ctx }));
  }

  /** Asks the leader to hand leadership to `transferee` (§3.10 of the thesis). */
  transferLeader(transferee: NodeId): void {
    this.raft.step(message({ type: 'MsgTransferLeader', from: transferee }));
  }

  /** Tells the leader how sending a snapshot to `id` ended. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(message({ type: 'MsgSnapStatus', from: id, reject: !ok }));
  }

  /** Tells the leader a message to `id` could not be delivered. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(message({ type: 'MsgUnreachable', from: id }));
  }

  hasReady(): boolean {
    const r = this.raft;
    if (r.needBcast && r.state === 'leader') return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.raftLog.unstable.entries.length > 0 || r.raftLog.unstable.snapshot) return true;
    const ss = r.softState();
    if (ss.lead !== this.#prevSoft.lead || ss.role !== this.#prevSoft.role) return true;
    const hs = r.hardState();
    if (
      hs.term !== this.#prevHard.term ||
      hs.vote !== this.#prevHard.vote ||
      hs.commit !== this.#prevHard.commit
    ) {
      return true;
    }
    return r.raftLog.hasNextCommittedEntries();
  }

  ready(): Ready {
    if (this.#outstanding) throw new ContractError('ready() called again before advance()');
    const r = this.raft;
    r.flush();
    const ss = r.softState();
    const hs = r.hardState();
    const softChanged = ss.lead !== this.#prevSoft.lead || ss.role !== this.#prevSoft.role;
    const hardChanged =
      hs.term !== this.#prevHard.term ||
      hs.vote !== this.#prevHard.vote ||
      hs.commit !== this.#prevHard.commit;
    const entries = r.raftLog.unstableEntries();
    const rd: Ready = {
      softState: softChanged ? ss : undefined,
      hardState: hardChanged ? hs : undefined,
      readStates: r.readStates,
      entries,
      snapshot: r.raftLog.unstable.snapshot,
      committedEntries: r.raftLog.nextCommittedEntries(),
      messages: r.msgs,
      mustSync: entries.length > 0 || hs.term !== this.#prevHard.term || hs.vote !== this.#prevHard.vote,
    };
    r.msgs = [];
    r.readStates = [];
    this.#prevSoft = ss;
    this.#prevHard = hs;
    this.#outstanding = true;
    return rd;
  }

  /** Acknowledges that `rd` was persisted, sent and applied (steps a–c of the contract). */
  advance(rd: Ready): void {
    if (!this.#outstanding) throw new ContractError('advance() without a pending ready()');
    this.#outstanding = false;
    const log = this.raft.raftLog;
    if (rd.snapshot) log.stableSnapTo(rd.snapshot.metadata.index);
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      log.stableTo(last.index, last.term);
    }
    if (rd.committedEntries.length > 0)
      log.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
    this.raft.onPersisted();
  }

  /** Index of the last entry in the log (stable or not). */
  lastIndex(): number {
    return this.raft.raftLog.lastIndex();
  }

  /** Leader only: how far member `id` has replicated (undefined when not tracked). */
  progress(id: NodeId): { match: number; isLearner: boolean } | undefined {
    const pr = this.raft.trk.progress.get(id);
    return pr ? { match: pr.match, isLearner: pr.isLearner } : undefined;
  }

  /** Leader only: the members it tracks, with how far each has replicated. */
  progresses(): { id: NodeId; match: number; isLearner: boolean }[] {
    return [...this.raft.trk.progress].map(([id, pr]) => ({ id, match: pr.match, isLearner: pr.isLearner }));
  }

  status(): Status {
    const r = this.raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      role: r.state,
      leadTransferee: r.leadTransferee,
    };
  }
}
