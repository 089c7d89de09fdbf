/**
 * The Raft state machine (Ongaro & Ousterhout; section numbers refer to the extended paper and
 * to the thesis where noted). Pure: no I/O, no clock, no randomness of its own. The host drives
 * it through RawNode (raw-node.ts), which documents the host contract.
 *
 * Behaviour per role lives in stepLeader / stepCandidate / stepFollower; transitions are the
 * explicit becomeX() methods. Messages to send accumulate in `msgs`; answers to ReadIndex in
 * `readStates`; both are drained by RawNode.ready().
 */
import { applySimple, type ChangeResult, restore } from './confchange.js';
import { ProposalDroppedError } from './errors.js';
import { RaftLog } from './log.js';
import { ReadOnly } from './read-only.js';
import type { Storage } from './storage.js';
import { Progress } from './tracker/progress.js';
import { ProgressTracker } from './tracker/tracker.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  entrySize,
  type HardState,
  type Message,
  type MessageType,
  message,
  type NodeId,
  None,
  type ReadState,
  type Rng,
  type Snapshot,
  type SoftState,
  type StateRole,
} from './types.js';

/** Max bytes of entries in one MsgApp (at least one entry is always sent). */
export const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
/** Max MsgApp in flight to one follower in replicate state (pipelining depth). */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
/** Max bytes in flight to one follower; 0 means no byte limit. */
export const DEFAULT_MAX_INFLIGHT_BYTES = 32 * 1024 * 1024;
/** Max bytes of committed entries handed out in one Ready. */
export const DEFAULT_MAX_COMMITTED_SIZE_PER_READY = 64 * 1024 * 1024;

/** Context of a MsgVote sent because of a leadership transfer: it bypasses the leader lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

export interface RaftConfig {
  /** This node's id; never 0n. */
  id: NodeId;
  storage: Storage;
  /** Ticks without hearing from a leader before campaigning; randomized in [e, 2e). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be < electionTick. */
  heartbeatTick: number;
  /** Source of the randomized election timeouts. */
  rng: Rng;
  /** Last index applied by the host's state machine, if it persists one beyond the snapshot. */
  applied?: number;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  maxInflightBytes?: number;
  maxCommittedSizePerReady?: number;
  /** §6 of the thesis: a leader without a recently active quorum steps down; voters honour a lease. */
  checkQuorum?: boolean;
  /** §9.6 of the thesis: a pre-election that does not bump terms, so a rejoining node cannot disrupt. */
  preVote?: boolean;
  /** Followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
}

type CampaignType = 'preElection' | 'election' | 'transfer';

const EMPTY = new Uint8Array(0);

function voteRespType(t: MessageType): MessageType {
  if (t === 'MsgVote') return 'MsgVoteResp';
  if (t === 'MsgPreVote') return 'MsgPreVoteResp';
  throw new Error(`not a vote message: ${t}`);
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Raft {
  readonly id: NodeId;
  /** Current term; persisted. Never decreases. */
  term = 0;
  /** Whom we voted for in `term`; persisted (at most one vote per term, §5.2). */
  vote: NodeId = None;
  /** The leader of `term`, if known. */
  lead: NodeId = None;
  state: StateRole = 'follower';
  isLearner = false;
  readonly raftLog: RaftLog;
  trk: ProgressTracker;
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly disableProposalForwarding: boolean;
  readonly maxMsgSize: number;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  /** Ticks since the last election timeout reset (followers/candidates) or CheckQuorum (leaders). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** In [electionTimeout, 2*electionTimeout): drawn from the injected rng at every reset. */
  randomizedElectionTimeout = 0;
  readonly #rng: Rng;

  /** Target of an ongoing leadership transfer; proposals are refused meanwhile. */
  leadTransferee: NodeId = None;
  /**
   * Index of the last conf change that may be unapplied. A leader proposes a new one only once
   * applied >= pendingConfIndex (one change at a time).
   */
  pendingConfIndex = 0;
  readOnly = new ReadOnly();
  /** ReadIndex requests received before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  /** Appends are owed to followers (proposals, commit advance); flushed once per Ready. */
  needBcast = false;

  constructor(c: RaftConfig) {
    if (c.id === None) throw new RangeError('cannot use none as id');
    if (c.heartbeatTick <= 0)
      throw new RangeError(`heartbeat tick must be greater than 0, got ${c.heartbeatTick}`);
    if (c.electionTick <= c.heartbeatTick) {
      throw new RangeError(`election tick must be greater than heartbeat tick, got ${c.electionTick}`);
    }
    this.id = c.id;
    this.#rng = c.rng;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? DEFAULT_MAX_COMMITTED_SIZE_PER_READY);
    this.trk = new ProgressTracker(
      c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS,
      c.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES,
    );
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.maxMsgSize = c.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;

    const { hardState, confState } = c.storage.initialState();
    // A new cluster's members start from bootstrapSnapshot() (storage.ts); a joining node
    // starts empty and learns the configuration from the leader's snapshot.
    this.switchToConfig(restore(this.trk, this.raftLog.lastIndex(), confState));
    if (hardState.term !== 0 || hardState.vote !== None || hardState.commit !== 0) {
      if (hardState.commit < this.raftLog.committed || hardState.commit > this.raftLog.lastIndex()) {
        throw new RangeError(
          `state.commit ${hardState.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
        );
      }
      this.raftLog.committed = hardState.commit;
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    if (c.applied !== undefined && c.applied > this.raftLog.applied) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, None);
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // ---- sending -------------------------------------------------------------------------------

  send(m: Partial<Message> & Pick<Message, 'type' | 'to'>): void {
    let term = m.term ?? 0;
    const t = m.type;
    if (t === 'MsgVote' || t === 'MsgVoteResp' || t === 'MsgPreVote' || t === 'MsgPreVoteResp') {
      // Votes carry the term they are about (a pre-vote's is in our future).
      if (term === 0) throw new Error(`term should be set when sending ${t}`);
    } else if (t !== 'MsgProp' && t !== 'MsgReadIndex' && t !== 'MsgTransferLeader') {
      term = this.term;
    }
    // Forwarded messages keep their origin (a transfer names its transferee in `from`).
    const from = m.from !== undefined && m.from !== None ? m.from : this.id;
    this.msgs.push(
      message({
        type: t,
        to: m.to,
        from,
        term,
        logTerm: m.logTerm,
        index: m.index,
        entries: m.entries,
        commit: m.commit,
        snapshot: m.snapshot,
        reject: m.reject,
        rejectHint: m.rejectHint,
        context: m.context,
      }),
    );
  }

  /** Sends entries (or an empty MsgApp when sendIfEmpty) to `to` if its flow control allows. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    if (prevTerm === undefined) return this.maybeSendSnapshot(to, pr);
    let ents: Entry[] = [];
    // A throttled replicate stream sends only empty appends: they carry commit and detect loss.
    if (pr.state !== 'replicate' || !pr.inflights.full()) {
      try {
        ents = this.raftLog.entries(pr.next, this.maxMsgSize);
      } catch {
        return this.maybeSendSnapshot(to, pr);
      }
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({
      to,
      type: 'MsgApp',
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.raftLog.committed,
    });
    let bytes = 0;
    for (const e of ents) bytes += entrySize(e);
    pr.sentEntries(ents.length, bytes);
    return true;
  }

  maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch {
      return false; // temporarily unavailable: retried on the next heartbeat response
    }
    if (snapshot.metadata.index === 0) throw new Error('need non-empty snapshot');
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ to, type: 'MsgSnap', snapshot });
    return true;
  }

  /** Sends to every follower as much as flow control allows (and at least the commit index). */
  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id === this.id) return;
      if (!this.maybeSendAppend(id, true)) return;
      while (this.maybeSendAppend(id, false));
    });
  }

  /** Flushes owed appends: proposals of one turn leave as few messages as the size limit allows. */
  flush(): void {
    if (!this.needBcast) return;
    this.needBcast = false;
    if (this.state === 'leader') this.bcastAppend();
  }

  sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    // Never advance a follower's commit past what it is known to hold.
    const pr = this.trk.progress.get(to)!;
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send({ to, type: 'MsgHeartbeat', commit, context: ctx });
  }

  bcastHeartbeat(ctx = this.readOnly.lastPendingRequestCtx()): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  // ---- commit and append ------------------------------------------------------------------------

  /**
   * Advances commit to what a quorum holds, under the current-term rule (§5.4.2, Figure 8):
   * RaftLog.maybeCommit refuses an index whose entry is from an earlier term.
   */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  appendEntry(es: readonly Entry[]): void {
    const li = this.raftLog.lastIndex();
    const ents = es.map(
      (e, i): Entry => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }),
    );
    this.raftLog.append(ents);
    // The leader counts itself only once these are durable: see onPersisted().
  }

  /** Called after the host persisted a Ready: the leader's own log now counts toward a quorum. */
  onPersisted(): void {
    if (this.state !== 'leader') return;
    const pr = this.trk.progress.get(this.id);
    if (!pr) return;
    if (pr.maybeUpdate(this.raftLog.lastStableIndex()) && this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.needBcast = true;
    }
  }

  // ---- transitions ------------------------------------------------------------------------------

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + this.#rng.int(this.electionTimeout);
    this.leadTransferee = None;
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, old] of this.trk.progress) {
      const pr = new Progress({
        match: id === this.id ? this.raftLog.lastStableIndex() : 0,
        next: last + 1,
        maxInflight: this.trk.maxInflight,
        maxInflightBytes: this.trk.maxInflightBytes,
        isLearner: old.isLearner,
      });
      this.trk.progress.set(id, pr);
    }
    this.pendingConfIndex = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
    this.needBcast = false;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = 'follower';
  }

  becomeCandidate(): void {
    if (this.state === 'leader') throw new Error('invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = 'candidate';
  }

  becomePreCandidate(): void {
    if (this.state === 'leader') throw new Error('invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote: that is the point of PreVote.
    this.trk.resetVotes();
    this.lead = None;
    this.state = 'preCandidate';
  }

  becomeLeader(): void {
    if (this.state === 'follower') throw new Error('invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = 'leader';
    const self = this.trk.progress.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    // Entries past our commit may hold an unapplied conf change: allow none until they apply.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // §5.4.2 / §8: an empty entry of our term lets us commit (and learn) everything before it.
    this.appendEntry([{ term: 0, index: 0, type: 'normal', data: EMPTY }]);
    this.needBcast = true;
  }

  // ---- ticks ------------------------------------------------------------------------------------

  tick(): void {
    if (this.state === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ type: 'MsgHup', from: this.id }));
    }
  }

  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: 'MsgCheckQuorum', from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === 'leader' && this.leadTransferee !== None) this.leadTransferee = None;
    }
    if (this.state !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: 'MsgBeat', from: this.id }));
    }
  }

  // ---- elections --------------------------------------------------------------------------------

  /** Can this node become leader? Voters only, and not while a snapshot is being installed. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  hasUnappliedConfChanges(): boolean {
    const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
    const hi = this.raftLog.committed + 1;
    if (lo >= hi) return false;
    for (const e of this.raftLog.slice(lo, hi, Number.POSITIVE_INFINITY))
      if (e.type === 'confChange') return true;
    return false;
  }

  hup(t: CampaignType): void {
    if (this.state === 'leader') return;
    if (!this.promotable()) return;
    // A node must know its configuration before campaigning under it.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === 'preElection') {
      this.becomePreCandidate();
      voteMsg = 'MsgPreVote';
      term = this.term + 1; // the term we would campaign in; our own term is unchanged
    } else {
      this.becomeCandidate();
      voteMsg = 'MsgVote';
      term = this.term;
    }
    if (this.poll(this.id, voteRespType(voteMsg), true) === 'won') {
      // A single-voter configuration wins at once.
      if (t === 'preElection') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const index = this.raftLog.lastIndex();
    const logTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voterIds()) {
      if (id === this.id) continue;
      this.send({
        to: id,
        term,
        type: voteMsg,
        index,
        logTerm,
        context: t === 'transfer' ? CAMPAIGN_TRANSFER : undefined,
      });
    }
  }

  poll(id: NodeId, _t: MessageType, granted: boolean): 'won' | 'lost' | 'pending' {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- step -------------------------------------------------------------------------------------

  /**
   * Feeds one message. Term handling common to all roles happens here (§5.1: a higher term makes
   * us a follower, a lower one is ignored or answered), then the role's step function runs.
   * @throws ProposalDroppedError when a local proposal cannot be accepted.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // local message, or a forwarded proposal/read/transfer
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = sameBytes(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
        // §6 of the thesis: while we hear from a leader, ignore (pre)votes, so a partitioned
        // node coming back with a high term cannot depose a healthy leader.
        if (!force && inLease) return;
      }
      if (m.type === 'MsgPreVote') {
        // Never change our term in response to a PreVote.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // A granted pre-vote carries the term we asked about; we bump it when we win.
      } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, None);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader (e.g. partitioned away, or removed) learns our term from this and steps
        // down; without it, CheckQuorum/PreVote could leave it stuck ignoring us forever.
        this.send({ to: m.from, type: 'MsgAppResp' });
      } else if (m.type === 'MsgPreVote') {
        this.send({ to: m.from, term: this.term, type: 'MsgPreVoteResp', reject: true });
      }
      return;
    }

    switch (m.type) {
      case 'MsgHup':
        this.hup(this.preVote ? 'preElection' : 'election');
        return;
      case 'MsgVote':
      case 'MsgPreVote': {
        // §5.2 at most one vote per term; §5.4.1 only for a log at least as up to date as ours.
        const canVote =
          this.vote === m.from ||
          (this.vote === None && this.lead === None) ||
          (m.type === 'MsgPreVote' && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send({ to: m.from, term: m.term, type: voteRespType(m.type) });
          if (m.type === 'MsgVote') {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send({ to: m.from, term: this.term, type: voteRespType(m.type), reject: true });
        }
        return;
      }
    }
    switch (this.state) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  stepLeader(m: Message): void {
    switch (m.type) {
      case 'MsgBeat':
        this.bcastHeartbeat();
        return;
      case 'MsgCheckQuorum':
        if (!this.trk.quorumActive()) this.becomeFollower(this.term, None);
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return;
      case 'MsgProp': {
        if (m.entries.length === 0) throw new Error('stepped empty MsgProp');
        if (!this.trk.progress.has(this.id))
          throw new ProposalDroppedError('leader was removed from the cluster');
        if (this.leadTransferee !== None) throw new ProposalDroppedError('leadership transfer in progress');
        const ents = m.entries.map((e, i): Entry => {
          if (e.type !== 'confChange') return e;
          if (this.pendingConfIndex > this.raftLog.applied) {
            // One change at a time: the previous one is not applied yet. Keep the slot, drop the change.
            return { term: 0, index: 0, type: 'normal', data: EMPTY };
          }
          this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
          return e;
        });
        this.appendEntry(ents);
        this.needBcast = true;
        return;
      }
      case 'MsgReadIndex':
        if (this.trk.isSingleton()) {
          this.respondToReadIndex(m, this.raftLog.committed);
          return;
        }
        // §6.4 of the thesis: our commit index is only known to be current once we committed an
        // entry of our own term.
        if (this.raftLog.term(this.raftLog.committed) !== this.term) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.sendReadIndexResponse(m);
        return;
    }

    const pr = this.trk.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case 'MsgAppResp': {
        pr.recentActive = true;
        if (m.reject) {
          // Fast back-off: skip the follower's whole conflicting term at once.
          let nextProbeIdx = m.rejectHint;
          if (m.logTerm > 0) nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
          if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
            if (pr.state === 'replicate') pr.becomeProbe();
            this.maybeSendAppend(m.from, true);
          }
          return;
        }
        const oldPaused = pr.isPaused();
        if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
          if (pr.state === 'probe') pr.becomeReplicate();
          else if (pr.state === 'snapshot' && pr.match + 1 >= this.raftLog.firstIndex()) {
            pr.becomeProbe();
            pr.becomeReplicate();
          } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

          if (this.maybeCommit()) {
            this.releasePendingReadIndexMessages();
            this.needBcast = true;
          } else if (oldPaused) {
            this.maybeSendAppend(m.from, true);
          }
          while (this.maybeSendAppend(m.from, false));
          if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex())
            this.sendTimeoutNow(m.from);
        }
        return;
      }
      case 'MsgHeartbeatResp': {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        if (pr.match < this.raftLog.lastIndex() || pr.state === 'probe') this.maybeSendAppend(m.from, true);
        if (!m.context || m.context.length === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (!acks || this.trk.config.voters.voteResult(acks) !== 'won') return;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
        // Reads that arrived during this round ride on the next one, started right away.
        if (this.readOnly.size > 0) this.bcastHeartbeat(this.readOnly.lastPendingRequestCtx());
        return;
      }
      case 'MsgSnapStatus':
        if (pr.state !== 'snapshot') return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for a heartbeat response before probing: the follower may still be installing.
        pr.msgAppFlowPaused = true;
        return;
      case 'MsgUnreachable':
        if (pr.state === 'replicate') pr.becomeProbe();
        return;
      case 'MsgTransferLeader': {
        if (pr.isLearner) return;
        const transferee = m.from;
        if (this.leadTransferee !== None) {
          if (this.leadTransferee === transferee) return;
          this.leadTransferee = None;
        }
        if (transferee === this.id) return;
        // The transfer must finish within an election timeout (tickHeartbeat aborts it).
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
        else this.maybeSendAppend(transferee, true);
        return;
      }
    }
  }

  stepCandidate(m: Message): void {
    const myVoteResp: MessageType = this.state === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
    switch (m.type) {
      case 'MsgProp':
        throw new ProposalDroppedError('no leader');
      case 'MsgApp':
        this.becomeFollower(m.term, m.from); // a leader of our term exists (§5.2)
        this.handleAppendEntries(m);
        return;
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        const res = this.poll(m.from, m.type, !m.reject);
        if (res === 'won') {
          if (this.state === 'preCandidate') this.campaign('election');
          else this.becomeLeader();
        } else if (res === 'lost') {
          // A lost pre-vote or vote: back to follower in the (unchanged) term.
          this.becomeFollower(this.term, None);
        }
        return;
      }
    }
  }

  stepFollower(m: Message): void {
    switch (m.type) {
      case 'MsgProp':
        if (this.lead === None) throw new ProposalDroppedError('no leader');
        if (this.disableProposalForwarding) throw new ProposalDroppedError('proposal forwarding disabled');
        this.send({ ...m, to: this.lead });
        return;
      case 'MsgApp':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case 'MsgHeartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'MsgSnap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'MsgTransferLeader':
        if (this.lead === None) return;
        this.send({ ...m, to: this.lead });
        return;
      case 'MsgTimeoutNow':
        // The leader asked us to take over: campaign at once, bypassing PreVote and leases.
        this.hup('transfer');
        return;
      case 'MsgReadIndex':
        if (this.lead === None) return; // dropped: the host times the read out
        this.send({ ...m, to: this.lead });
        return;
      case 'MsgReadIndexResp':
        this.readStates.push({ index: m.index, requestCtx: m.context ?? EMPTY });
        return;
    }
  }

  // ---- follower handlers -------------------------------------------------------------------------

  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send({ to: m.from, type: 'MsgAppResp', index: this.raftLog.committed });
      return;
    }
    const lastnewi = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastnewi !== undefined) {
      this.send({ to: m.from, type: 'MsgAppResp', index: lastnewi });
      return;
    }
    // Reject with a hint: our last index <= m.index whose term is <= m.logTerm, so the leader
    // can skip every entry of a conflicting term in one round trip.
    const hint = Math.min(m.index, this.raftLog.lastIndex());
    const [hintIndex, hintTerm] = this.raftLog.findConflictByTerm(hint, m.logTerm);
    this.send({
      to: m.from,
      type: 'MsgAppResp',
      index: m.index,
      reject: true,
      rejectHint: hintIndex,
      logTerm: hintTerm,
    });
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send({ to: m.from, type: 'MsgHeartbeatResp', context: m.context });
  }

  handleSnapshot(m: Message): void {
    const s = m.snapshot!;
    if (this.restore(s)) this.send({ to: m.from, type: 'MsgAppResp', index: this.raftLog.lastIndex() });
    else this.send({ to: m.from, type: 'MsgAppResp', index: this.raftLog.committed });
  }

  /** Installs a snapshot if it is ahead of our commit. Returns false if it was not needed. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== 'follower') {
      // Defensive (etcd does the same): only followers install snapshots.
      this.becomeFollower(this.term + 1, None);
      return false;
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already hold the snapshot's last entry: just fast-forward commit.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    // Note: a snapshot taken before our own addition does not list us. We still install it;
    // we learn of our membership by applying the entries after it (and are not promotable
    // meanwhile), rather than refusing snapshots until the leader happens to make a newer one.
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    this.switchToConfig(restore(this.trk, this.raftLog.lastIndex(), s.metadata.confState));
    return true;
  }

  // ---- configuration ------------------------------------------------------------------------------

  applyConfChange(cc: ConfChange): ConfState {
    return this.switchToConfig(applySimple(this.trk, this.raftLog.lastIndex(), cc));
  }

  switchToConfig(r: ChangeResult): ConfState {
    this.trk.config = r.config;
    this.trk.progress = r.progress;
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr?.isLearner ?? false;
    if ((!pr || this.isLearner) && this.state === 'leader') {
      // A removed (or demoted) leader steps down; the remaining voters elect a new one once
      // their election timeout fires. Its removal entry is already committed.
      this.becomeFollower(this.term, None);
      return cs;
    }
    if (this.state !== 'leader' || cs.voters.length === 0) return cs;
    // The quorum changed: commit may advance (e.g. a slow voter was removed); new members need appends.
    if (this.maybeCommit()) this.releasePendingReadIndexMessages();
    this.needBcast = true;
    if (this.leadTransferee !== None && !this.trk.config.voters.ids().has(this.leadTransferee)) {
      this.leadTransferee = None;
    }
    return cs;
  }

  // ---- reads and transfers -----------------------------------------------------------------------

  sendReadIndexResponse(m: Message): void {
    const idle = this.readOnly.size === 0;
    this.readOnly.addRequest(this.raftLog.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    // One heartbeat round at a time: requests arriving meanwhile are confirmed by the next round.
    if (idle) this.bcastHeartbeat(m.context);
  }

  respondToReadIndex(req: Message, index: number): void {
    if (req.from === None || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.context ?? EMPTY });
    } else {
      this.send({ to: req.from, type: 'MsgReadIndexResp', index, context: req.context });
    }
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (this.raftLog.term(this.raftLog.committed) !== this.term) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendReadIndexResponse(m);
  }

  sendTimeoutNow(to: NodeId): void {
    this.send({ to, type: 'MsgTimeoutNow' });
  }
}
