/**
 * The Cluster view: members with each one's status, the leader's history and a few series.
 * Built from polled member status and metrics: cluster state is not in the keyspace.
 */
export interface MemberView {
  /** Member ID in hex, as etcdctl prints it. */
  id: string;
  name: string;
  clientURLs: string[];
  isLearner: boolean;
  /** Whether the member answered its status call. */
  healthy: boolean;
  error?: string;
  isLeader: boolean;
  raftTerm?: string;
  raftIndex?: string;
  raftAppliedIndex?: string;
  dbSize?: number;
  version?: string;
}

export interface ClusterView {
  clusterId: string;
  leader: string;
  members: MemberView[];
  alarms: { member: string; alarm: string }[];
  /** Leader changes the dashboard saw: when, who, at which term. */
  leaderChanges: { at: number; leader: string; term: string }[];
  /** Recent samples: revisions per second (writes), p99 request latency and WAL fsync p99, in ms. */
  series: { at: number; opsPerSec: number; p99Ms?: number; fsyncP99Ms?: number }[];
  readAt: number;
}

/** One histogram's cumulative buckets (upper bound in seconds → count) from Prometheus text. */
export function histogram(text: string, name: string): { le: number; count: number }[] {
  const buckets = new Map<number, number>();
  const re = new RegExp(`^${name}_bucket\\{(?:[^}]*,)?le="([^"]+)"[^}]*\\} (\\S+)`, 'gm');
  for (const m of text.matchAll(re)) {
    const le = m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

/**
 * The 99th percentile of what a histogram counted between two reads (cumulative buckets), in
 * seconds: the upper bound of the first bucket holding it. Undefined when nothing was counted.
 */
export function p99Between(
  before: { le: number; count: number }[],
  after: { le: number; count: number }[],
): number | undefined {
  const prev = new Map(before.map((b) => [b.le, b.count]));
  const delta = after.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) }));
  const total = delta.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const target = total * 0.99;
  const hit = delta.find((b) => b.count >= target);
  return hit && Number.isFinite(hit.le) ? hit.le : delta.at(-2)?.le;
}
