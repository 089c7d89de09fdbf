/**
 * A member: its identity, its state machine and the Raft proposer in front of it, what the API
 * services ask of it (headers, quota, readiness, watch sync, open streams), and its start: a
 * sequence of named steps, each in a module of its own. The member's clocks, the lease calls
 * only the leader answers, and membership changes live beside it (member-clocks.ts,
 * leader-leases.ts, member-changes.ts). The API services see a member only through this class.
 */
import { mkdir } from 'node:fs/promises';
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type ResponseHeader,
} from '../../gen/etcdserverpb/rpc.js';
import { asLogger, defaultLogger, type Logger, type LogSink } from '../../log.js';
import { type MvccRequest, NoSpaceError, type StateMachine } from '../../mvcc/index.js';
import type { PeerHandler } from '../../transport/peer-service.js';
import { ServerAuth } from '../auth/auth.js';
import type { JwtTokens } from '../auth/auth-jwt.js';
import { CertUsers } from '../auth/cert-users.js';
import { NoLeaderError, RequestTimeoutError, StoppedError } from '../errors.js';
import { ServerMetrics } from '../metrics.js';
import type { RaftProposer } from '../raft/raft-proposer.js';
import type { ServeConfig } from './config.js';
import { discoverIdentity } from './discovery.js';
import { setUpJwt } from './jwt-setup.js';
import { LeaderLeases } from './leader-leases.js';
import { MemberChanges } from './member-changes.js';
import { MemberClocks } from './member-clocks.js';
import { recoverState, reportRecovery } from './member-recovery.js';
import { startRaft } from './raft-start.js';
import { type SnapshotSharing, shareSnapshots } from './snapshot-sharing.js';
import { loadMemberTls, type MemberTls } from './tls.js';

export interface MemberInfo {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
}

export class Node {
  readonly config: ServeConfig;
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly sm: StateMachine;
  readonly proposer: RaftProposer;
  /** This member's Prometheus registry and metrics (served at /metrics). */
  readonly metrics: ServerMetrics;
  /** TLS of the client and peer ports, loaded and checked at start (replaced on reload). */
  readonly tls: MemberTls;
  /** Password hashing, simple tokens and each call's credentials (the store is sm.auth). */
  readonly auth: ServerAuth;
  /** Client-certificate common names by connection, for --client-cert-auth (see cert-users.ts). */
  readonly certUsers = new CertUsers();
  readonly startedAt = Date.now();
  /** Called after each sync round (watch streams answer deferred progress requests). */
  readonly afterWatchSync = new Set<() => void>();
  /** Open streams (watch, keepalive), each by the function that ends it: shutdown ends them first. */
  readonly streams = new Set<() => void>();
  /**
   * Called once the applied auth state has changed (users, roles, permissions, enabled): open
   * watch streams check their watchers' permission again.
   */
  readonly onAuthChange = new Set<() => void>();
  /**
   * Streams opened with "hasleader" metadata (etcd's WithRequireLeader), each by the function
   * that ends it: when this member has had no leader for a few election timeouts in a row (see
   * member-clocks.ts), they all end with "etcdserver: no leader", so their clients go to another
   * member.
   */
  readonly leaderRequired = new Set<(err: Error) => void>();
  #authSeen = { revision: 0, enabled: false };
  /** The member's logger (its lines carry the member's name and ID). */
  readonly log: Logger;
  readonly #clocks: MemberClocks;
  readonly #leases: LeaderLeases;
  readonly #changes: MemberChanges;
  #sharing: SnapshotSharing | undefined;
  #closed = false;

  private constructor(
    config: ServeConfig,
    ids: { memberId: bigint; clusterId: bigint },
    p: RaftProposer,
    metrics: ServerMetrics,
    tls: MemberTls,
    log: Logger,
    jwt?: JwtTokens,
  ) {
    this.config = config;
    this.log = log;
    this.memberId = ids.memberId;
    this.clusterId = ids.clusterId;
    this.sm = p.sm;
    this.proposer = p;
    this.metrics = metrics;
    this.tls = tls;
    this.auth = new ServerAuth(p.sm, {
      bcryptCost: config.bcryptCost,
      tokenTtlSec: config.authTokenTtlSec,
      jwt,
    });
    this.#clocks = new MemberClocks(this);
    this.#leases = new LeaderLeases(this);
    this.#changes = new MemberChanges(this);
  }

  /**
   * Starts a member, step by step: TLS, JWT keys, who it is (discovery), its state (recovery),
   * metrics, the raft loop, snapshot sharing, its clocks. Each step is a function named for it.
   */
  static async start(config: ServeConfig, sink: LogSink = defaultLogger()): Promise<Node> {
    const base = asLogger(sink);
    const tls = loadMemberTls(config);
    const jwt = await setUpJwt(config);
    await mkdir(config.dataDir, { recursive: true });
    const identity = await discoverIdentity(config, tls, base);
    // etcd's lines carry the local member's ID from here on.
    const log = base.child({ 'member-id': identity.memberId.toString(16) });
    const { rec, shared } = await recoverState(config, identity, log);
    let node: Node | undefined;
    let sharing: SnapshotSharing | undefined;
    const metrics = new ServerMetrics({
      hasLeader: () => node?.hasLeader ?? false,
      isLeader: () => node?.proposer.isLeader ?? false,
      dbSizeBytes: () => rec.sm.kv.sizeBytes,
      watchers: () => rec.sm.watches.size,
    });
    const proposer = startRaft(config, rec, identity, {
      metrics,
      tls,
      log,
      onApplied: () => node?.syncWatchers(),
      onSnapshotSaved: (meta) => sharing?.offer(meta),
    });
    node = new Node(config, identity, proposer, metrics, tls, log, jwt);
    if (shared) {
      const { clusterId, memberId } = identity;
      const retain = config.snapshotStoreRetention;
      sharing = shareSnapshots(shared, rec.snapshots, proposer, {
        clusterId,
        memberId,
        retain,
        log,
        metrics,
      });
      node.#sharing = sharing;
    }
    node.#clocks.start();
    reportRecovery(rec, shared, metrics, log);
    return node;
  }

  get members(): (MemberInfo & { isLearner: boolean })[] {
    return this.proposer.membership.list().map((m) => ({
      id: m.id,
      name: m.name,
      peerUrls: m.peerUrls,
      clientUrls: m.id === this.memberId ? this.config.advertiseClientUrls : m.clientUrls,
      isLearner: m.isLearner,
    }));
  }

  /** What the peer service calls into. */
  get peerHandler(): PeerHandler {
    const p = this.proposer;
    return {
      clusterId: this.clusterId,
      step: (m) => p.step(m),
      receiveSnapshot: (m, membership, data) => p.receiveSnapshot(m, membership, data),
      leaseRenew: (id) => this.#leases.peerRenew(id),
      membership: () => p.membership.encode(),
      isRemoved: (id) => p.membership.removed.has(id),
      leaseTimeToLive: (id, keys) => this.#leases.peerTimeToLive(id, keys),
    };
  }

  // ---- membership (the Cluster service, see member-changes.ts) -------------------------------

  memberAdd(peerUrls: string[], isLearner: boolean, signal?: AbortSignal) {
    return this.#changes.add(peerUrls, isLearner, signal);
  }

  /** Undefined means "ask the leader" (only it can hand leadership over first). */
  memberRemove(id: bigint, signal?: AbortSignal) {
    return this.#changes.remove(id, signal);
  }

  /** Undefined means "ask the leader" (promotion needs its view of the learner's log). */
  memberPromote(id: bigint, signal?: AbortSignal) {
    return this.#changes.promote(id, signal);
  }

  memberUpdate(id: bigint, peerUrls: string[], signal?: AbortSignal) {
    return this.#changes.update(id, peerUrls, signal);
  }

  /** The leader's client URL, for calls only the leader can answer. */
  leaderClientUrl(): string {
    const lead = this.proposer.leader;
    if (lead === 0n) throw new NoLeaderError();
    const url = this.proposer.membership.members.get(lead)?.clientUrls[0];
    if (!url) throw new RequestTimeoutError();
    return url;
  }

  // ---- leases only the leader answers (see leader-leases.ts) ---------------------------------

  /** A keepalive from a client: answered by the leader, forwarded to it from a follower. */
  leaseRenew(id: bigint, signal?: AbortSignal): Promise<number> {
    return this.#leases.renew(id, signal);
  }

  /** TimeToLive is the leader's to answer (only it runs the lease clocks). */
  leaseTimeToLive(req: LeaseTimeToLiveRequest, signal?: AbortSignal): Promise<LeaseTimeToLiveResponse> {
    return this.#leases.timeToLive(req, signal);
  }

  /**
   * Resolves once this member has applied everything committed when it started (a ReadIndex
   * through the leader), retrying while there is no leader yet. A learner waits for nothing.
   */
  async waitReady(): Promise<void> {
    for (;;) {
      if (this.#closed) throw new StoppedError();
      if (this.proposer.isLearner || this.proposer.membership.confState.voters.length === 0) return;
      try {
        await this.proposer.readIndex(AbortSignal.timeout(this.config.electionTimeoutMs * 3));
        // etcd is ready once its attributes are published: MemberList then shows its client URLs.
        // A publish lost on the way is retried after two election timeouts (see #publish), so
        // this waits for a few tries (etcd waits for ever); the cap keeps a member that cannot
        // publish from never serving, and says so.
        const capMs = this.config.electionTimeoutMs * 10;
        let capped = false;
        await Promise.race([
          this.proposer.published,
          new Promise<void>((r) =>
            setTimeout(() => {
              capped = true;
              r();
            }, capMs).unref(),
          ),
        ]);
        if (capped)
          this.log.warn(
            `serving clients before this member's attributes were published (waited ${capMs} ms)`,
          );
        return;
      } catch (err) {
        if (err instanceof StoppedError) throw err;
        await new Promise((r) => setTimeout(r, this.config.heartbeatIntervalMs));
      }
    }
  }

  /** Completes a header from the state machine (which knows only the revision) as etcd fills it. */
  header(h: ResponseHeader | undefined, revision?: number): ResponseHeader {
    const out = h ?? { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n };
    out.clusterId = this.clusterId;
    out.memberId = this.memberId;
    out.raftTerm = BigInt(this.proposer.status().term);
    if (revision !== undefined) out.revision = BigInt(revision);
    return out;
  }

  /**
   * The quota check before proposing (etcd's quotaKVServer / quotaLeaseServer): a request that
   * would not fit raises the NOSPACE alarm — through the proposer, so every member has it — and
   * is refused.
   */
  async checkQuota(req: MvccRequest, signal?: AbortSignal): Promise<void> {
    try {
      this.sm.checkQuota(req);
    } catch (err) {
      if (!(err instanceof NoSpaceError)) throw err;
      if (!this.sm.alarms.has(AlarmType.NOSPACE))
        await this.proposer
          .propose(
            {
              alarm: {
                action: AlarmRequest_AlarmAction.ACTIVATE,
                memberID: this.memberId,
                alarm: AlarmType.NOSPACE,
              },
            },
            signal,
          )
          .catch(() => {});
      throw err;
    }
  }

  /** One catching-up round for watchers behind the store. */
  syncWatchers(): void {
    const a = this.sm.auth;
    if (a.revision !== this.#authSeen.revision || a.enabled !== this.#authSeen.enabled) {
      this.#authSeen = { revision: a.revision, enabled: a.enabled };
      for (const f of this.onAuthChange) f();
    }
    if (this.sm.watches.unsyncedCount > 0) this.sm.watches.sync();
    for (const f of this.afterWatchSync) f();
  }

  /** Whether this member sees a leader now (a stream asking for one may start). */
  get hasLeader(): boolean {
    return this.proposer.status().leader !== 0n;
  }

  /** Ends every open stream (its call completes); clients reconnect elsewhere. */
  endStreams(): void {
    for (const end of [...this.streams]) end();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clocks.stop();
    this.endStreams();
    await this.proposer.close();
    await this.#sharing?.close();
  }
}
