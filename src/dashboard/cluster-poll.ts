/**
 * Polls the cluster's state (membership, each member's status, alarms, metrics): that state is
 * not in the keyspace, so there is nothing to watch. Keeps the leader's history and a short
 * series of samples for the Cluster view's charts.
 */
import type { Client } from '../index.js';
import { type ClusterView, histogram, type MemberView, p99Between } from './model/cluster.js';

const SERIES = 60;
const hex = (id: bigint) => id.toString(16);

type Buckets = { le: number; count: number }[];

export class ClusterPoller {
  readonly #client: Client;
  readonly #changes: ClusterView['leaderChanges'] = [];
  readonly #series: ClusterView['series'] = [];
  #last: { at: number; revision: bigint; grpc: Buckets; fsync: Buckets } | undefined;
  #view: ClusterView | undefined;

  constructor(client: Client) {
    this.#client = client;
  }

  get view(): ClusterView | undefined {
    return this.#view;
  }

  async poll(signal: AbortSignal): Promise<ClusterView> {
    const at = Date.now();
    const { header, members } = await this.#client.cluster.members({ signal });
    const endpoints = this.#client.endpoints;
    const statuses = await Promise.all(
      endpoints.map((_, i) =>
        this.#client.maintenance.status({ endpoint: i, signal }).catch((e: Error) => e),
      ),
    );
    const byMember = new Map(
      statuses.flatMap((s) => (s instanceof Error ? [] : [[s.header.memberId, s] as const])),
    );
    const leader = [...byMember.values()].find((s) => s.leader !== 0n);
    const views: MemberView[] = members.map((m) => {
      const s = byMember.get(m.id);
      const failed = statuses.find(
        (x, i) => x instanceof Error && m.clientURLs.some((u) => sameHost(u, endpoints[i]!)),
      );
      return {
        id: hex(m.id),
        name: m.name,
        clientURLs: m.clientURLs,
        isLearner: m.isLearner,
        healthy: s !== undefined,
        ...(s === undefined && failed instanceof Error ? { error: failed.message } : {}),
        isLeader: leader?.leader === m.id,
        ...(s && {
          raftTerm: s.raftTerm.toString(),
          raftIndex: s.raftIndex.toString(),
          raftAppliedIndex: s.raftAppliedIndex.toString(),
          dbSize: Number(s.dbSize),
          version: s.version,
        }),
      };
    });
    const alarms = await this.#client.maintenance.alarms({ signal }).catch(() => []);
    if (leader && this.#changes.at(-1)?.leader !== hex(leader.leader))
      this.#changes.push({ at, leader: hex(leader.leader), term: leader.raftTerm.toString() });
    if (this.#changes.length > SERIES) this.#changes.shift();
    await this.#sample(at, leader?.header.revision ?? header.revision, members[0]?.clientURLs[0], signal);
    this.#view = {
      clusterId: hex(header.clusterId),
      leader: leader ? hex(leader.leader) : '',
      members: views,
      alarms: alarms.map((a) => ({ member: hex(a.memberId), alarm: a.alarm })),
      leaderChanges: [...this.#changes],
      series: [...this.#series],
      readAt: at,
    };
    return this.#view;
  }

  /** Writes per second from the revision; latencies from one member's /metrics when it serves them. */
  async #sample(at: number, revision: bigint, url: string | undefined, signal: AbortSignal) {
    const metrics = url?.startsWith('http://')
      ? await fetch(new URL('/metrics', url), { signal })
          .then((r) => (r.ok ? r.text() : ''))
          .catch(() => '')
      : '';
    const grpc = histogram(metrics, 'grpc_server_handling_seconds');
    const fsync = histogram(metrics, 'etcd_disk_wal_fsync_duration_seconds');
    const last = this.#last;
    this.#last = { at, revision, grpc, fsync };
    if (!last || at <= last.at) return;
    const p99 = p99Between(last.grpc, grpc);
    const fsyncP99 = p99Between(last.fsync, fsync);
    this.#series.push({
      at,
      opsPerSec: (Number(revision - last.revision) * 1000) / (at - last.at),
      ...(p99 !== undefined && { p99Ms: p99 * 1000 }),
      ...(fsyncP99 !== undefined && { fsyncP99Ms: fsyncP99 * 1000 }),
    });
    if (this.#series.length > SERIES) this.#series.shift();
  }
}

function sameHost(url: string, endpoint: string): boolean {
  const host = (s: string) => s.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return host(url) === host(endpoint);
}
