/**
 * RaftProposer: the Proposer over the Raft core — the host loop of raw-node.ts's contract.
 *
 * An idle loop starts at the end of the turn a request arrives in; everything that arrives
 * while a WAL write is in flight forms the next batch (group commit): proposals enter the core
 * as one MsgProp (forwarded by the core to the leader when this member follows), reads as one
 * ReadIndex. Each Ready is handled by ReadyStep (ready-step.ts, the order the simulator runs
 * too) over the WAL, the peer transport and the entry applier.
 *
 * A proposal carries a request ID (prefix from the member ID, then a counter); whichever member
 * applies an entry resolves its own waiter for that ID, so a follower's client is answered from
 * its own state machine once the forwarded entry comes back committed. Nothing is answered
 * before it is applied, and nothing is applied before a quorum has it on disk.
 */

import { mutated } from '../../failpoints.js';
import type { Message as PbMessage } from '../../gen/concord/raftpb.js';
import { asLogger, type Logger } from '../../log.js';
import type { AuthInfo, ResponseOf, StateMachine } from '../../mvcc/index.js';
import { type ConfChange, type Message, type NodeId, None, RawNode, SeededRng } from '../../raft/index.js';
import type { FileSnapshotStore, Wal } from '../../storage/index.js';
import { fromPbMessage, snapshotMetadataOf } from '../../transport/codec.js';
import { PeerTransport } from '../../transport/peer-transport.js';
import {
  CanceledError,
  LeaderChangedError,
  NoLeaderError,
  RequestTimeoutError,
  RequestTooLargeError,
  StoppedError,
} from '../errors.js';
import { EntryApplier } from './entry-applier.js';
import { encodePublishEntry, encodeRequestEntry, type InternalRequest } from './internal-request.js';
import { Leadership, mostCaughtUpVoter } from './leadership.js';
import type { MemberRecord, Membership } from './membership.js';
import { MembershipChanges } from './membership-changes.js';
import { ProposalQueue } from './proposal-queue.js';
import { abortable } from './proposal-waiters.js';
import type { Proposer, RaftStatus } from './proposer.js';
import { Publisher } from './publisher.js';
import type { RaftProposerOptions, RaftRecovered } from './raft-options.js';
import { ReadIndexBatcher } from './read-index.js';
import { ReadyStep } from './ready-step.js';
import { recoveredLog } from './recovered-log.js';
import { Snapshotter } from './snapshotter.js';
import { toRaftEntry, WalLog } from './wal-log.js';

export type { RaftProposerOptions, RaftRecovered } from './raft-options.js';

/** Test builds only (see src/failpoints.ts): a new leader expires every lease at once. */
const SKIP_LEASE_EXTENSION = mutated('skip-lease-extension-on-leader-change');

/** Test builds only: a follower acknowledges appends before its WAL fsync (see ready-step.ts). */
const ACK_BEFORE_PERSIST = mutated('follower-ack-before-persist');

export class RaftProposer implements Proposer {
  readonly sm: StateMachine;
  readonly membership: Membership;
  readonly transport: PeerTransport;
  readonly #raw: RawNode;
  readonly #wal: Wal;
  readonly #snapshots: FileSnapshotStore;
  readonly #opts: RaftProposerOptions;
  readonly #log: Logger;
  readonly #requestTimeoutMs: number;
  readonly #proposals: ProposalQueue;
  readonly #reads: ReadIndexBatcher;
  readonly #applier: EntryApplier;
  readonly #snapshotter: Snapshotter;
  readonly #step: ReadyStep<Promise<void>>;
  readonly #leadership: Leadership;
  readonly #changes: MembershipChanges;
  readonly #publisher: Publisher;
  /** Resolves once this member's name and client URLs are in the replicated membership. */
  readonly published: Promise<void>;
  #scheduled = false;
  #running: Promise<void> | undefined;
  #closed = false;
  #failed: Error | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  /** Called when this member becomes leader or stops being it. */
  onRoleChange: ((leader: boolean) => void) | undefined;
  /** Called once when this member applies its own removal from the cluster. */
  onRemoved: (() => void) | undefined;

  constructor(rec: RaftRecovered, opts: RaftProposerOptions) {
    this.sm = rec.sm;
    this.membership = rec.membership;
    this.#wal = rec.wal;
    this.#snapshots = rec.snapshots;
    this.#opts = opts;
    this.#requestTimeoutMs = 5000 + 2 * opts.electionMs;
    this.#proposals = new ProposalQueue(opts.memberId, this.#requestTimeoutMs, Date.now, opts.metrics);
    this.#reads = new ReadIndexBatcher(opts.memberId);
    this.#log = asLogger(opts.log);
    this.#publisher = new Publisher({
      membership: this.membership,
      memberId: opts.memberId,
      name: opts.name,
      clientUrls: opts.clientUrls,
      electionMs: opts.electionMs,
      propose: (timeoutMs) => {
        const q = this.#proposals;
        const counter = q.next();
        const p = q.wait(counter, { timeoutMs });
        const attrs = { id: opts.memberId.toString(16), name: opts.name, clientUrls: opts.clientUrls };
        q.push(counter, encodePublishEntry(q.prefix, counter, attrs));
        this.#kick();
        return p;
      },
      closed: () => this.#closed,
    });
    this.published = this.#publisher.published;
    this.#applier = new EntryApplier({
      sm: this.sm,
      membership: this.membership,
      memberId: opts.memberId,
      prefix: this.#proposals.prefix,
      log: this.#log,
      metrics: opts.metrics,
      warningApplyDurationMs: opts.warningApplyDurationMs,
      settle: (counter, resp, error) => this.#proposals.waiters.settle(counter, resp, error),
      addPeer: (id, url) => this.transport.addPeer(id, url),
      applyConfChange: (cc) => this.#changes.apply(cc),
    });

    const storage = recoveredLog({
      ...rec,
      confState: rec.membership.confState,
      entries: rec.entries.map(toRaftEntry),
    });
    this.#snapshotter = new Snapshotter(
      {
        sm: this.sm,
        smOptions: rec.smOptions,
        membership: this.membership,
        storage,
        wal: rec.wal,
        store: rec.snapshots,
        clusterId: opts.clusterId,
        memberId: opts.memberId,
        log: this.#log,
        snapshotCount: opts.snapshotCount,
        catchUpEntries: opts.snapshotCatchUpEntries,
        onSaved: (meta) => opts.onSnapshotSaved?.(meta),
        onInstalled: (m) => {
          if (this.#leadership.isLeader) this.sm.lessor.promote(Date.now(), opts.electionMs);
          else this.sm.lessor.demote();
          for (const r of m.members.values())
            if (r.id !== opts.memberId && r.peerUrls[0]) this.transport.addPeer(r.id, r.peerUrls[0]);
        },
        closed: () => this.#closed,
      },
      rec.snapshotIndex,
    );
    this.#leadership = new Leadership({
      memberId: opts.memberId,
      log: this.#log,
      metrics: opts.metrics,
      term: () => this.#raw.status().term,
      leaderChanged: (prevLead) => {
        // Reads sent to the old leader may never be answered: ask the new one.
        this.#reads.resend();
        // Proposals this follower forwarded to a leader that is gone may never come back: their
        // clients hear so now (the outcome is unknown, as with a timeout) instead of after the
        // request timeout, and can retry through the new leader.
        if (prevLead !== None && prevLead !== opts.memberId && !this.#leadership.isLeader)
          this.#proposals.failInFlight(new LeaderChangedError());
      },
      roleChanged: (leader) => {
        // etcd extends every lease by an election timeout on promotion, so that no lease expires
        // because its keepalives could not reach anyone during the election.
        if (!leader) this.sm.lessor.demote();
        else if (SKIP_LEASE_EXTENSION) this.sm.lessor.promote(Date.now(), -1e15);
        else this.sm.lessor.promote(Date.now(), opts.electionMs);
        this.onRoleChange?.(leader);
      },
      leaderKnown: () => this.#publisher.publish(),
    });
    this.#step = new ReadyStep<Promise<void>>(
      {
        log: new WalLog(rec.wal, storage, this.#log, opts.metrics),
        transport: {
          send: (messages) => this.transport.send(messages),
          // node:http2 writes answers in the check phase (a native immediate), before this.
          sendAfterAnswers: (messages) => setImmediate(() => this.transport.send(messages)),
        },
        applier: {
          apply: (entries, now) => {
            this.#applier.apply(entries, now);
            opts.onApplied?.();
          },
          onReadStates: (readStates) => this.#reads.onReadStates(readStates),
          serveReads: () => this.#reads.serve(this.sm.appliedIndex),
        },
        snapshots: {
          install: (snap) => this.#snapshotter.install(snap),
          maybeSnapshot: () => this.#snapshotter.maybeSnapshot(),
        },
        clock: { now: Date.now },
        onSoftState: (ss) => this.#leadership.onSoftState(ss),
      },
      { ackBeforePersist: ACK_BEFORE_PERSIST },
    );
    const electionTick = Math.max(2, Math.round(opts.electionMs / opts.heartbeatMs));
    this.#raw = new RawNode({
      id: opts.memberId,
      storage,
      electionTick,
      heartbeatTick: 1,
      rng: new SeededRng(Number((opts.memberId ^ BigInt(Date.now())) & 0xffffffffn)),
      applied: rec.sm.appliedIndex,
      checkQuorum: true,
      preVote: true,
    });

    this.transport = new PeerTransport({
      selfId: opts.memberId,
      clusterId: opts.clusterId,
      openSnapshot: (index) => this.#snapshotter.open(index),
      onUnreachable: (id) => {
        this.#raw.reportUnreachable(id);
        this.#kick();
      },
      onRemoved: () => this.#changes.removedByPeer(),
      onSnapshotSent: (id, ok) => {
        if (ok) opts.metrics?.snapshotsSent.inc({ To: id.toString(16) });
        this.#raw.reportSnapshot(id, ok);
        this.#kick();
      },
      log: this.#log.child({ caller: 'transport/peer-transport' }),
      credentials: opts.peerCredentials,
      tlsOptions: opts.peerTlsOptions,
    });
    for (const m of this.membership.members.values())
      if (m.id !== opts.memberId && m.peerUrls[0]) this.transport.addPeer(m.id, m.peerUrls[0]);
    this.#changes = new MembershipChanges({
      raw: this.#raw,
      membership: this.membership,
      memberId: opts.memberId,
      proposals: this.#proposals,
      peers: this.transport,
      log: this.#log,
      closed: () => this.#closed,
      failed: () => this.#failed !== undefined,
      lead: () => this.#leadership.lead,
      kick: () => this.#kick(),
      removed: () => this.onRemoved?.(),
    });

    const voters = this.membership.confState.voters;
    if (voters.length === 1 && voters[0] === opts.memberId) {
      // Alone: no one to wait for.
      this.#raw.campaign();
    } else if (opts.fresh) {
      // etcd's fast-forward on a new cluster: the first election after one tick, not a timeout.
      for (let i = 0; i < electionTick - 1; i++) this.#raw.tick();
    }
    const every = (ms: number, f: () => void) => {
      const t = setInterval(f, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(opts.heartbeatMs, () => {
      this.#raw.tick();
      this.#kick();
    });
    every(250, () => this.#expire());
    this.#kick();
  }

  // ---------------------------------------------------------------------------------------------
  // Proposer

  status(): RaftStatus {
    const s = this.#raw.status();
    return {
      term: s.term,
      leader: s.lead,
      lastIndex: this.#raw.lastIndex(),
      appliedIndex: this.sm.appliedIndex,
    };
  }

  get isLeader(): boolean {
    return this.#leadership.isLeader;
  }

  get failure(): Error | undefined {
    return this.#failed;
  }

  get leader(): NodeId {
    return this.#leadership.lead;
  }

  get memberId(): bigint {
    return this.#opts.memberId;
  }

  propose<R extends InternalRequest>(req: R, signal?: AbortSignal, auth?: AuthInfo): Promise<ResponseOf<R>> {
    const metrics = this.#opts.metrics;
    const refuse = (err: Error) => {
      metrics?.proposalsFailed.inc();
      return Promise.reject(err);
    };
    if (this.#closed || this.#failed) return refuse(new StoppedError());
    if (signal?.aborted) return refuse(new CanceledError());
    const q = this.#proposals;
    const counter = q.next();
    const data = encodeRequestEntry(q.prefix, counter, req, auth);
    if (data.length > this.#opts.maxRequestBytes) return refuse(new RequestTooLargeError());
    const p = q.wait(counter);
    q.push(counter, data);
    this.#kick();
    return abortable(p, signal) as Promise<ResponseOf<R>>;
  }

  readIndex(signal?: AbortSignal): Promise<void> {
    if (this.#closed || this.#failed) return Promise.reject(new StoppedError());
    if (signal?.aborted) return Promise.reject(new CanceledError());
    const p = this.#reads.add(Date.now() + this.#requestTimeoutMs);
    this.#kick();
    return abortable(p, signal);
  }

  // ---------------------------------------------------------------------------------------------
  // Peers

  /** A message from a peer's stream. */
  step(m: Message): void {
    if (this.#closed) return;
    this.#raw.step(m);
    this.#kick();
  }

  /**
   * A snapshot streamed by the leader: saved to the local store first, then its MsgSnap is
   * stepped; the core hands it back in a Ready once it accepts it, and it is installed then.
   */
  async receiveSnapshot(
    m: PbMessage,
    membership: Uint8Array,
    data: AsyncIterable<Uint8Array>,
  ): Promise<void> {
    const meta = snapshotMetadataOf(m);
    if (!meta) throw new Error('MsgSnap without snapshot metadata');
    await this.#snapshotter.receive(meta, membership, data);
    this.#opts.metrics?.snapshotsReceived.inc({ From: m.from.toString(16) });
    this.#log.info(`received snapshot at index ${meta.index} from ${m.from.toString(16)}`, {
      index: meta.index,
      from: m.from.toString(16),
    });
    this.step(fromPbMessage(m));
  }

  // ---------------------------------------------------------------------------------------------
  // Leadership

  /** Hands leadership to the most caught-up voter, waiting up to `timeoutMs`; false if it did not move. */
  async transferLeadership(timeoutMs = this.#opts.electionMs * 2, target: NodeId = None): Promise<boolean> {
    if (!this.#leadership.isLeader) return false;
    const best = target !== None ? target : mostCaughtUpVoter(this.#raw.progresses(), this.#opts.memberId);
    if (best === None) return false;
    if (best === this.#opts.memberId) return true;
    this.#raw.transferLeader(best);
    this.#kick();
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      await sleep(this.#opts.heartbeatMs / 2);
      if (this.#leadership.lead === best) return true;
    }
    return false;
  }

  /** Whether `id` is a voter of the applied configuration (a possible transferee). */
  isVoter(id: NodeId): boolean {
    return this.membership.confState.voters.includes(id);
  }

  // ---------------------------------------------------------------------------------------------
  // The loop

  /**
   * New input (a request, a peer's message, a tick). A running loop takes it when its WAL write
   * returns, with whatever else arrived meanwhile (group commit); an idle loop starts at the
   * end of this turn's microtasks, not a macrotask later: each hop on the commit path costs a
   * wake-up, on the leader twice per write (the proposal and the acknowledgements).
   */
  #kick(): void {
    // A failed loop would fail again at once: it stays stopped (and says so on /health).
    if (this.#scheduled || this.#running || this.#closed || this.#failed) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#start());
  }

  #start(): void {
    this.#scheduled = false;
    if (this.#running || this.#closed || this.#failed) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
      // Input the core could not take (a proposal dropped during a leadership transfer) would
      // spin on microtasks: a retry waits for the next macrotask, letting I/O in.
      if (this.#raw.hasReady() || this.#hasInput()) setImmediate(() => this.#kick());
    });
  }

  #hasInput(): boolean {
    return (this.#proposals.queued || this.#reads.queued) && this.#leadership.lead !== None;
  }

  /** Hands the turn's proposals and reads to the core (once a leader is known). */
  #feed(): void {
    if (this.#leadership.lead === None) return;
    this.#proposals.feed(this.#raw);
    const round = this.#reads.flush();
    if (round) this.#raw.readIndex(round);
  }

  async #loop(): Promise<void> {
    try {
      for (;;) {
        if (this.#closed) return;
        this.#feed();
        if (!this.#raw.hasReady()) return;
        const cycle = this.#step.cycle(this.#raw);
        for (let r = cycle.next(); !r.done; r = cycle.next()) await r.value;
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  /**
   * Proposes a membership change and resolves with the member list once it is applied. The core
   * replaces a change proposed while another is pending with an empty entry: that one times out.
   * A new leader counts everything up to its last index as pending until it has applied an entry
   * of its own term (as etcd's raft does), so a change sent right after a leader change, e.g.
   * removing the old leader once it handed over, was dropped. A ReadIndex first waits for that
   * entry to commit; the leader applies what commits in the same turn.
   */
  async proposeConfChange(
    type: ConfChange['type'],
    nodeId: bigint,
    member?: { name: string; peerUrls: string[] },
    signal?: AbortSignal,
  ): Promise<MemberRecord[]> {
    await this.readIndex(signal);
    return this.#changes.propose(type, nodeId, member, signal);
  }

  /** Replicates a member's new peer URLs (MemberUpdate). */
  updateMember(id: bigint, peerUrls: string[], signal?: AbortSignal): Promise<void> {
    return this.#changes.update(id, peerUrls, signal);
  }

  /** Leader only: whether a learner's log is close enough to the leader's to be promoted (etcd: 90%). */
  learnerReady(id: bigint): boolean {
    return this.#changes.learnerReady(id);
  }

  /** True when this member is a learner in the applied configuration. */
  get isLearner(): boolean {
    return this.membership.confState.learners.includes(this.#opts.memberId);
  }

  /**
   * Snapshots what is applied now and releases the WAL behind it (Defragment); resolves with
   * the snapshot's index once it is durable.
   */
  snapshotNow(): Promise<number> {
    return this.#snapshotter.snapshotNow();
  }

  /** Fails what waited too long: proposals and reads past their deadline. */
  #expire(): void {
    const now = Date.now();
    const err = () => (this.#leadership.lead === None ? new NoLeaderError() : new RequestTimeoutError());
    this.#proposals.expire(now, err);
    this.#reads.expire(now, err);
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = err instanceof Error ? err : new Error(String(err));
    this.#opts.metrics?.raftLoopFailed.set(1);
    if (!this.#closed)
      this.#log.error(`raft loop failed; refusing requests: ${this.#failed.stack ?? this.#failed.message}`);
    this.#rejectAll(new StoppedError());
  }

  #rejectAll(err: Error): void {
    this.#proposals.rejectAll(err);
    this.#reads.rejectAll(err);
  }

  /** Waits for the loop and snapshots in flight (tests and shutdown). */
  async idle(): Promise<void> {
    await this.#running;
    await this.#snapshotter.idle();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#rejectAll(new StoppedError());
    this.transport.close();
    await this.idle().catch(() => {});
    const hardPending = this.#step.hardPending;
    if (hardPending) await this.#wal.save(hardPending).catch(() => {});
    await this.#wal.close();
    await this.#snapshots.close();
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
