/**
 * A member: its identity, its state machine and the Proposer in front of it, plus the member's
 * own clocks — lease expiry (found locally, revoked through the Proposer), catching-up watchers
 * and progress notifications. The API services see a member only through this class.
 */
import { mkdir } from 'node:fs/promises';
import { AlarmRequest_AlarmAction, AlarmType, type ResponseHeader } from '../gen/etcdserverpb/rpc.js';
import { LeaseNotFoundError, type MvccRequest, NoSpaceError, type StateMachine } from '../mvcc/index.js';
import { clusterIdOf, memberIdOf, type ServeConfig } from './config.js';
import { LocalProposer } from './local-proposer.js';
import { ServerMetrics } from './metrics.js';
import type { Proposer } from './proposer.js';
import { recover } from './recover.js';

/** How often the member looks for expired leases (etcd checks every 500 ms). */
export const LEASE_EXPIRY_CHECK_MS = 500;
/** Most lease revokes proposed per check (etcd's leaseRevokeRate is 1000/s). */
export const LEASE_REVOKES_PER_CHECK = 500;
/** How often catching-up watchers get another batch (etcd's watchable store syncs every 100 ms). */
export const WATCH_SYNC_INTERVAL_MS = 100;

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
  readonly proposer: Proposer;
  /** This member's Prometheus registry and metrics (served at /metrics). */
  readonly metrics: ServerMetrics;
  readonly startedAt = Date.now();
  /** Called after each sync round (watch streams answer deferred progress requests). */
  readonly afterWatchSync = new Set<() => void>();
  /** Open streams (watch, keepalive), each by the function that ends it: shutdown ends them first. */
  readonly streams = new Set<() => void>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #revoking = new Set<bigint>();
  #closed = false;

  private constructor(
    config: ServeConfig,
    ids: { memberId: bigint; clusterId: bigint },
    sm: StateMachine,
    p: Proposer,
    metrics: ServerMetrics,
  ) {
    this.config = config;
    this.memberId = ids.memberId;
    this.clusterId = ids.clusterId;
    this.sm = sm;
    this.proposer = p;
    this.metrics = metrics;
  }

  static async start(
    config: ServeConfig,
    log: (msg: string) => void = (m) => console.error(m),
  ): Promise<Node> {
    await mkdir(config.dataDir, { recursive: true });
    const memberId = memberIdOf(config.initialAdvertisePeerUrls, config.initialClusterToken);
    const clusterId = clusterIdOf([memberId]);
    const rec = await recover(
      config.dataDir,
      {
        quotaBytes: config.quotaBackendBytes,
        maxTxnOps: config.maxTxnOps,
        fragmentBytes: config.maxRequestBytes,
      },
      { clusterId, memberId },
    );
    let node: Node | undefined;
    const metrics = new ServerMetrics({
      hasLeader: () => node !== undefined && node.proposer.status().leader !== 0n,
      dbSizeBytes: () => rec.sm.kv.sizeBytes,
      watchers: () => rec.sm.watches.size,
    });
    const proposer = await LocalProposer.start(rec, {
      memberId,
      clusterId,
      snapshotCount: config.snapshotCount,
      maxRequestBytes: config.maxRequestBytes,
      membership: Buffer.from(JSON.stringify(config.initialCluster)),
      onApplied: () => node?.syncWatchers(),
      log,
      metrics,
    });
    node = new Node(config, { memberId, clusterId }, rec.sm, proposer, metrics);
    node.#startClocks();
    if (rec.replayed > 0 || rec.snapshotIndex > 0)
      log(
        `concord: recovered to index ${rec.sm.appliedIndex} (snapshot ${rec.snapshotIndex}, ${rec.replayed} WAL entries replayed), revision ${rec.sm.revision}`,
      );
    return node;
  }

  get members(): MemberInfo[] {
    return [
      {
        id: this.memberId,
        name: this.config.name,
        peerUrls: this.config.initialAdvertisePeerUrls,
        clientUrls: this.config.advertiseClientUrls,
      },
    ];
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
    if (this.sm.watches.unsyncedCount > 0) this.sm.watches.sync();
    for (const f of this.afterWatchSync) f();
  }

  #startClocks(): void {
    const every = (ms: number, f: () => void) => {
      const t = setInterval(f, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(LEASE_EXPIRY_CHECK_MS, () => this.#revokeExpired());
    every(WATCH_SYNC_INTERVAL_MS, () => this.syncWatchers());
    every(this.config.watchProgressNotifyIntervalMs, () => this.sm.watches.progressNotify());
  }

  /** Expired leases are revoked through the Proposer, like any write, so every member agrees. */
  #revokeExpired(): void {
    if (this.#closed) return;
    for (const id of this.sm.lessor.expired(Date.now(), LEASE_REVOKES_PER_CHECK)) {
      if (this.#revoking.has(id)) continue;
      this.#revoking.add(id);
      this.proposer
        .propose({ leaseRevoke: { ID: id } })
        .catch((err: unknown) => {
          if (!(err instanceof LeaseNotFoundError) && !this.#closed)
            console.error(`concord: revoking expired lease ${id.toString(16)} failed: ${String(err)}`);
        })
        .finally(() => this.#revoking.delete(id));
    }
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
  }
}
