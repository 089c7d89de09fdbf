/**
 * The Raft state machine (Ongaro & Ousterhout; section numbers refer to the extended paper and
 * to the thesis where noted). Pure: no I/O, no clock, no randomness of its own. The host drives
 * it through RawNode (raw-node.ts), which documents the host contract.
 *
 * This file holds the state, the explicit becomeX() transitions, ticks, the step common to all
 * roles, snapshots, configuration and ReadIndex bookkeeping. Behaviour per role is in functions
 * of its own, as in etcd's raft: stepLeader (step-leader.ts), stepCandidate (step-candidate.ts),
 * stepFollower (step-follower.ts); campaigns in election.ts; what a leader sends its followers in
 * replication.ts. Messages to send accumulate in `msgs`; answers to ReadIndex in `readStates`;
 * both are drained by RawNode.ready().
 */
import { applySimple, type ChangeResult, restore } from './confchange.js';
import { CAMPAIGN_TRANSFER, hup, voteRespType } from './election.js';
import { RaftLog } from './log.js';
import { ReadOnly } from './read-only.js';
import { bcastAppend, bcastHeartbeat } from './replication.js';
import { stepCandidate } from './step-candidate.js';
import { stepFollower } from './step-follower.js';
import { stepLeader } from './step-leader.js';
import type { Storage } from './storage.js';
import { Progress } from './tracker/progress.js';
import { ProgressTracker } from './tracker/tracker.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
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

export { CAMPAIGN_TRANSFER };

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

const EMPTY = new Uint8Array(0);

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
        commitOnly: m.commitOnly,
        context: m.context,
      }),
    );
  }

  /** Flushes owed appends: proposals of one turn leave as few messages as the size limit allows. */
  flush(): void {
    if (!this.needBcast) return;
    this.needBcast = false;
    if (this.state === 'leader') bcastAppend(this);
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

  /** Can this node become leader? Voters only, and not while a snapshot is being installed. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
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
        hup(this, this.preVote ? 'preElection' : 'election');
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
        stepLeader(this, m);
        return;
      case 'candidate':
      case 'preCandidate':
        stepCandidate(this, m);
        return;
      case 'follower':
        stepFollower(this, m);
        return;
    }
  }

  // ---- snapshots and configuration --------------------------------------------------------------

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
    if (idle) bcastHeartbeat(this, m.context);
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
