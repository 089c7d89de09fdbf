/**
 * A member: its identity, its state machine and the Raft proposer in front of it, plus the
 * member's own clocks — lease expiry (found by the leader, revoked through Raft), catching-up
 * watchers and progress notifications — and the lease calls that only the leader answers
 * (forwarded to it from a follower). The API services see a member only through this class.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createChannel, createClient } from 'nice-grpc';
import { FAILPOINTS, failpoint } from '../../failpoints.js';
import type { LeaseTimeToLiveResponse as PeerTtlResponse } from '../../gen/concord/raftpb.js';
import { PeerDefinition } from '../../gen/concord/raftpb.js';
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type ResponseHeader,
} from '../../gen/etcdserverpb/rpc.js';
import { asLogger, defaultLogger, type Logger, type LogSink } from '../../log.js';
import { LeaseNotFoundError, type MvccRequest, NoSpaceError, type StateMachine } from '../../mvcc/index.js';
import { FileSnapshotStore, openSnapshotStore } from '../../storage/index.js';
import type { PeerHandler } from '../../transport/peer-service.js';
import { ServerAuth } from '../auth/auth.js';
import { DEFAULT_JWT_TTL_MS, JwtTokens } from '../auth/auth-jwt.js';
import { CertUsers } from '../auth/cert-users.js';
import {
  ConfigError,
  LearnerNotReadyError,
  MemberExistsError,
  MemberNotFoundError,
  MemberNotLearnerError,
  NoLeaderError,
  NotPrimaryError,
  PeerUrlExistsError,
  RequestTimeoutError,
  StoppedError,
} from '../errors.js';
import { ServerMetrics } from '../metrics.js';
import { Membership } from '../raft/membership.js';
import { RaftProposer } from '../raft/raft-proposer.js';
import { Compactor } from './compactor.js';
import { clusterIdOf, memberIdOf, parseDuration, type ServeConfig } from './config.js';
import { recover } from './recover.js';
import { SnapshotSharing } from './snapshot-sharing.js';
import { channelCredentialsFor, loadMemberTls, type MemberTls } from './tls.js';

/** How long a follower waits for the leader to answer a forwarded lease call. */
export const LEASE_FORWARD_TIMEOUT_MS = 3_000;

/** How often the member looks for expired leases (etcd checks every 500 ms). */
export const LEASE_EXPIRY_CHECK_MS = 500;
/** Most lease revokes proposed per check (etcd's leaseRevokeRate is 1000/s). */
export const LEASE_REVOKES_PER_CHECK = 500;
/** Checkpoints per LeaseCheckpoint proposal (etcd's maxLeaseCheckpointBatchSize). */
export const LEASE_CHECKPOINTS_PER_REQUEST = 1000;
/** How often catching-up watchers get another batch (etcd's watchable store syncs every 100 ms). */
export const WATCH_SYNC_INTERVAL_MS = 100;

export interface MemberInfo {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
}

/** etcd's maxNoLeaderCnt: election timeouts without a leader before leader-requiring streams end. */
const LEADERLESS_CHECKS = 3;

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
   * that ends it: when this member has had no leader for LEADERLESS_CHECKS election timeouts in
   * a row, they all end with "etcdserver: no leader", so their clients go to another member.
   */
  readonly leaderRequired = new Set<(err: Error) => void>();
  #leaderlessChecks = 0;
  #authSeen = { revision: 0, enabled: false };
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #revoking = new Set<bigint>();
  /** The member's logger (its lines carry the member's name and ID). */
  readonly log: Logger;
  #sharing: SnapshotSharing | undefined;
  #closed = false;

  private constructor(
    config: ServeConfig,
    ids: { memberId: bigint; clusterId: bigint },
    sm: StateMachine,
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
    this.sm = sm;
    this.proposer = p;
    this.metrics = metrics;
    this.tls = tls;
    this.auth = new ServerAuth(sm, {
      bcryptCost: config.bcryptCost,
      tokenTtlSec: config.authTokenTtlSec,
      jwt,
    });
  }

  static async start(config: ServeConfig, sink: LogSink = defaultLogger()): Promise<Node> {
    const base = asLogger(sink);
    const tls = loadMemberTls(config);
    const t = config.authToken;
    const jwt =
      t.type === 'jwt'
        ? await JwtTokens.load({
            pubKey: t.options['pub-key']!,
            privKey: t.options['priv-key'],
            signMethod: t.options['sign-method']!,
            ttlMs: t.options.ttl ? parseDuration('auth-token ttl', t.options.ttl) : DEFAULT_JWT_TTL_MS,
          })
        : undefined;
    await mkdir(config.dataDir, { recursive: true });
    const founding = foundingMembers(config);
    const me = founding.find((m) => m.name === config.name);
    if (!me) throw new Error(`member ${config.name} is not in the initial cluster`);
    let memberId = me.id;
    let clusterId = clusterIdOf(founding.map((m) => m.id));
    let membership = () => Membership.founding(founding);
    // A data dir says which cluster and member it belongs to; an empty one joining an existing
    // cluster asks a peer (etcd's GetClusterFromRemotePeers).
    const held = await new FileSnapshotStore(path.join(config.dataDir, 'snap')).latest();
    if (held) {
      memberId = held.memberId;
      clusterId = held.clusterId;
    } else if (config.initialClusterState === 'existing') {
      const info = await clusterFromPeers(
        founding.filter((m) => m.id !== memberId).map((m) => m.peerUrl),
        tls,
      );
      clusterId = info.clusterId;
      const m = Membership.decode(info.membership);
      // MemberAdd chose the ID (with a time salt, as etcd's): find it by this member's peer URL.
      const self = m.byPeerUrl(me.peerUrl);
      if (!self)
        throw new ConfigError(
          `no member with peer URL ${me.peerUrl} in cluster ${clusterId.toString(16)}: add it with "member add" first`,
        );
      memberId = self.id;
      membership = () => m;
      base.info(`joining cluster ${clusterId.toString(16)} as member ${memberId.toString(16)}`, {
        'cluster-id': clusterId.toString(16),
        'member-id': memberId.toString(16),
      });
    }
    // etcd's lines carry the local member's ID from here on.
    const log = base.child({ 'member-id': memberId.toString(16) });
    const shared = config.snapshotStore ? openSnapshotStore(config.snapshotStore) : undefined;
    const rec = await recover(config.dataDir, {
      smOptions: {
        quotaBytes: config.quotaBackendBytes,
        maxTxnOps: config.maxTxnOps,
        fragmentBytes: config.maxRequestBytes,
      },
      clusterId,
      memberId,
      founding: membership,
      initialClusterState: config.initialClusterState,
      shared,
      log: log.child({ caller: 'server/recover' }),
    }).catch(async (err: unknown) => {
      await shared?.close();
      throw err;
    });
    let sharing: SnapshotSharing | undefined;
    let node: Node | undefined;
    const metrics = new ServerMetrics({
      hasLeader: () => node !== undefined && node.proposer.status().leader !== 0n,
      dbSizeBytes: () => rec.sm.kv.sizeBytes,
      watchers: () => rec.sm.watches.size,
    });
    const proposer = new RaftProposer(rec, {
      memberId,
      clusterId,
      name: config.name,
      clientUrls: config.advertiseClientUrls,
      heartbeatMs: config.heartbeatIntervalMs,
      electionMs: config.electionTimeoutMs,
      snapshotCount: config.snapshotCount,
      snapshotCatchUpEntries: config.snapshotCatchUpEntries,
      maxRequestBytes: config.maxRequestBytes,
      fresh: rec.fresh,
      onApplied: () => node?.syncWatchers(),
      onSnapshotSaved: (meta) => sharing?.offer(meta),
      log: log.child({ caller: 'server/raft-proposer' }),
      warningApplyDurationMs: config.warningApplyDurationMs,
      metrics,
      peerCredentials: (url) => channelCredentialsFor(url, tls.peer),
    });
    node = new Node(config, { memberId, clusterId }, rec.sm, proposer, metrics, tls, log, jwt);
    if (shared) {
      sharing = new SnapshotSharing(shared, rec.snapshots, {
        clusterId,
        memberId,
        retain: config.snapshotStoreRetention,
        isLeader: () => proposer.isLeader,
        log: log.child({ caller: 'server/snapshot-sharing' }),
        metrics,
      });
      node.#sharing = sharing;
      proposer.onRoleChange = (leader) => {
        if (leader) sharing?.offerNewest().catch((err: unknown) => log.warn(String(err)));
      };
    }
    if (rec.bootstrapped) {
      metrics.storeBootstrapIndex.set(rec.bootstrapped.index);
      log.info(
        `started from snapshot ${rec.bootstrapped.id} at index ${rec.bootstrapped.index} of the ${shared?.kind} snapshot store; catching up from the leader's log`,
        { index: rec.bootstrapped.index },
      );
    }
    node.#startClocks();
    if (!rec.fresh)
      log.info(
        `recovered snapshot ${rec.snapshotIndex} with ${rec.entries.length} WAL entries after it (commit ${rec.hardState.commit})`,
        { index: rec.snapshotIndex, entries: rec.entries.length, commit: rec.hardState.commit },
      );
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
      leaseRenew: async (id) => {
        if (!p.isLeader) throw new NotPrimaryError();
        return this.#renewLocal(id);
      },
      membership: () => p.membership.encode(),
      isRemoved: (id) => p.membership.removed.has(id),
      leaseTimeToLive: async (id, keys) => {
        if (!p.isLeader) throw new NotPrimaryError();
        const r = this.sm.leaseTimeToLive({ ID: id, keys }, Date.now());
        return {
          found: r.TTL !== -1n,
          ttl: r.TTL,
          grantedTtl: r.grantedTTL,
          keys: r.keys,
        } satisfies PeerTtlResponse;
      },
    };
  }

  // ---- membership (the Cluster service) ------------------------------------------------------

  /** etcd's MemberAdd: the new member's ID derives from its peer URLs and the cluster token. */
  async memberAdd(peerUrls: string[], isLearner: boolean, signal?: AbortSignal) {
    const p = this.proposer;
    const urls = peerUrls.map((u) => urlOf(u));
    for (const m of p.membership.members.values())
      if (m.peerUrls.some((u) => urls.includes(u))) throw new PeerUrlExistsError();
    // etcd salts a new member's ID with the time, so a peer URL removed and added again gets a
    // new ID (a removed ID never comes back).
    const id = memberIdOf(urls, `${this.config.initialClusterToken}/${Date.now()}`);
    if (p.membership.members.has(id) || p.membership.removed.has(id)) throw new MemberExistsError();
    const members = await p.proposeConfChange(
      isLearner ? 'addLearnerNode' : 'addNode',
      id,
      { name: '', peerUrls: urls },
      signal,
    );
    return { id, members };
  }

  /**
   * Removing the leader hands leadership over first, so the cluster does not sit out an election
   * timeout with the removal committed but not yet known to the others. Only the leader can do
   * that: undefined means "ask the leader".
   */
  async memberRemove(id: bigint, signal?: AbortSignal) {
    const p = this.proposer;
    if (!p.membership.members.has(id)) throw new MemberNotFoundError();
    if (id === p.leader && id !== this.memberId) return undefined;
    if (id === this.memberId && p.isLeader) await p.transferLeadership();
    return p.proposeConfChange('removeNode', id, undefined, signal);
  }

  /** Promotion needs the leader's view of the learner's log: a follower asks the leader. */
  async memberPromote(id: bigint, signal?: AbortSignal) {
    const p = this.proposer;
    const m = p.membership.members.get(id);
    if (!m) throw new MemberNotFoundError();
    if (!m.isLearner) throw new MemberNotLearnerError();
    if (!p.isLeader) return undefined;
    if (!p.learnerReady(id)) throw new LearnerNotReadyError();
    return p.proposeConfChange('addNode', id, undefined, signal);
  }

  async memberUpdate(id: bigint, peerUrls: string[], signal?: AbortSignal) {
    const p = this.proposer;
    if (!p.membership.members.has(id)) throw new MemberNotFoundError();
    await p.updateMember(
      id,
      peerUrls.map((u) => urlOf(u)),
      signal,
    );
    return p.membership.list();
  }

  /** The leader's client URL, for calls only the leader can answer. */
  leaderClientUrl(): string {
    const lead = this.proposer.leader;
    if (lead === 0n) throw new NoLeaderError();
    const url = this.proposer.membership.members.get(lead)?.clientUrls[0];
    if (!url) throw new RequestTimeoutError();
    return url;
  }

  /** A keepalive on the leader: the lease's TTL, or 0 if it is gone or expired. */
  #renewLocal(id: bigint): number {
    const now = Date.now();
    try {
      if (this.sm.lessor.remaining(id, now) <= 0) return 0;
      const r = this.sm.lessor.renew(id, now);
      // A stale checkpoint must not shorten the renewed lease after a leader change.
      if (r.clearCheckpoint)
        this.proposer
          .propose({ leaseCheckpoint: { checkpoints: [{ ID: id, remainingTTL: 0n }] } })
          .catch(() => {});
      return r.ttl;
    } catch (err) {
      if (err instanceof LeaseNotFoundError) return 0;
      throw err;
    }
  }

  /** A keepalive from a client: answered by the leader, forwarded to it from a follower. */
  async leaseRenew(id: bigint, signal?: AbortSignal): Promise<number> {
    const p = this.proposer;
    if (p.isLeader) return this.#renewLocal(id);
    const client = this.#leaderClient();
    const r = await client.leaseRenew({ clusterId: this.clusterId, id }, { signal: forwardSignal(signal) });
    return Number(r.ttl);
  }

  /** TimeToLive is the leader's to answer (only it runs the lease clocks). */
  async leaseTimeToLive(req: LeaseTimeToLiveRequest, signal?: AbortSignal): Promise<LeaseTimeToLiveResponse> {
    const p = this.proposer;
    if (p.isLeader) {
      await p.readIndex(signal);
      return this.sm.leaseTimeToLive(req, Date.now());
    }
    const client = this.#leaderClient();
    const r = await client.leaseTimeToLive(
      { clusterId: this.clusterId, id: req.ID, keys: req.keys },
      { signal: forwardSignal(signal) },
    );
    const header = this.header(undefined, this.sm.revision);
    if (!r.found) return { header, ID: req.ID, TTL: -1n, grantedTTL: 0n, keys: [] };
    return { header, ID: req.ID, TTL: r.ttl, grantedTTL: r.grantedTtl, keys: r.keys };
  }

  #leaderClient() {
    const lead = this.proposer.leader;
    if (lead === 0n) throw new NoLeaderError();
    const c = this.proposer.transport.client(lead);
    if (!c) throw new RequestTimeoutError();
    return c;
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

  #monitorLeader(): void {
    if (this.hasLeader) {
      this.#leaderlessChecks = 0;
      return;
    }
    if (++this.#leaderlessChecks < LEADERLESS_CHECKS) return;
    this.#leaderlessChecks = 0;
    const ends = [...this.leaderRequired];
    this.leaderRequired.clear();
    for (const end of ends) end(new NoLeaderError());
  }

  #startClocks(): void {
    const every = (ms: number, f: () => void) => {
      const t = setInterval(f, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(LEASE_EXPIRY_CHECK_MS, () => this.#revokeExpired());
    // etcd's monitorLeader: checked once per election timeout.
    every(this.config.electionTimeoutMs, () => this.#monitorLeader());
    if (this.config.leaseCheckpointIntervalMs > 0)
      every(this.config.leaseCheckpointIntervalMs, () => this.#checkpointLeases());
    const ac = this.config.autoCompaction;
    if (ac) {
      const compactor = new Compactor(
        {
          isLeader: () => this.proposer.isLeader,
          revision: () => this.sm.revision,
          compactRevision: () => this.sm.compactRevision,
          compact: async (revision) => {
            await this.proposer.propose({ compaction: { revision: BigInt(revision), physical: false } });
          },
          log: this.log.child({ caller: 'server/compactor' }),
        },
        ac,
      );
      every(compactor.tickMs, () => {
        compactor.tick(Date.now()).catch(() => {});
      });
    }
    every(WATCH_SYNC_INTERVAL_MS, () => this.syncWatchers());
    every(this.config.watchProgressNotifyIntervalMs, () => this.sm.watches.progressNotify());
  }

  /** Expired leases are revoked through the Proposer, like any write, so every member agrees. */
  #revokeExpired(): void {
    if (this.#closed || !this.proposer.isLeader) return;
    for (const id of this.sm.lessor.expired(Date.now(), LEASE_REVOKES_PER_CHECK)) {
      if (this.#revoking.has(id)) continue;
      this.#revoking.add(id);
      if (FAILPOINTS) failpoint('lease-revoke');
      this.proposer
        .propose({ leaseRevoke: { ID: id } })
        .catch((err: unknown) => {
          if (!(err instanceof LeaseNotFoundError) && !this.#closed)
            this.log.warn(`revoking expired lease ${id.toString(16)} failed: ${String(err)}`);
        })
        .finally(() => this.#revoking.delete(id));
    }
  }

  /** The leader records what is left of each lease (applied by every member, see lessor.promote). */
  #checkpointLeases(): void {
    if (this.#closed || !this.proposer.isLeader) return;
    const due = this.sm.lessor.checkpointsDue(Date.now());
    for (let i = 0; i < due.length; i += LEASE_CHECKPOINTS_PER_REQUEST)
      this.proposer
        .propose({ leaseCheckpoint: { checkpoints: due.slice(i, i + LEASE_CHECKPOINTS_PER_REQUEST) } })
        .catch((err: unknown) => {
          if (!this.#closed) this.log.warn(`lease checkpoint failed: ${String(err)}`);
        });
  }

  /** Ends every open stream (its call completes); clients reconnect elsewhere. */
  endStreams(): void {
    for (const end of [...this.streams]) end();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.endStreams();
    await this.proposer.close();
    await this.#sharing?.close();
  }
}

/** Members of the initial cluster: names with their peer URLs, IDs derived as etcd derives them. */
export function foundingMembers(config: ServeConfig): { id: bigint; name: string; peerUrl: string }[] {
  const byName = new Map<string, string[]>();
  for (const m of config.initialCluster) {
    const urls = byName.get(m.name) ?? [];
    urls.push(m.peerUrl);
    byName.set(m.name, urls);
  }
  return [...byName].map(([name, urls]) => ({
    id: memberIdOf(urls, config.initialClusterToken),
    name,
    peerUrl: urls[0]!,
  }));
}

function forwardSignal(signal: AbortSignal | undefined): AbortSignal {
  const t = AbortSignal.timeout(LEASE_FORWARD_TIMEOUT_MS);
  return signal ? AbortSignal.any([signal, t]) : t;
}

/** `http://h:p/` → `http://h:p` (member URLs are compared in this form). */
function urlOf(u: string): string {
  const x = new URL(u);
  return `${x.protocol}//${x.host}`;
}

/** Asks the peers, in turn, for the cluster's ID and membership (a member joining it). */
async function clusterFromPeers(
  peerUrls: string[],
  tls: MemberTls,
): Promise<{ clusterId: bigint; membership: Uint8Array }> {
  const errors: string[] = [];
  for (const url of peerUrls) {
    const u = new URL(url);
    const channel = createChannel(`${u.hostname}:${u.port}`, channelCredentialsFor(url, tls.peer));
    try {
      const r = await createClient(PeerDefinition, channel).clusterInfo(
        {},
        { signal: AbortSignal.timeout(3000) },
      );
      return { clusterId: r.clusterId, membership: r.membership };
    } catch (err) {
      errors.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      channel.close();
    }
  }
  throw new ConfigError(
    `--initial-cluster-state existing: no peer answered with the cluster's membership (${errors.join('; ')})`,
  );
}
