/**
 * Who this member is and which cluster it belongs to, decided before anything is recovered: the
 * founding members from --initial-cluster (IDs derived as etcd derives them), overridden by what
 * a data dir already holds, or — for an empty member joining an existing cluster — asked of a
 * peer (etcd's GetClusterFromRemotePeers).
 */
import path from 'node:path';
import { createChannel, createClient } from 'nice-grpc';
import { PeerDefinition } from '../../gen/concord/raftpb.js';
import type { Logger } from '../../log.js';
import { FileSnapshotStore } from '../../storage/index.js';
import { ConfigError } from '../errors.js';
import { Membership } from '../raft/membership.js';
import { clusterIdOf, memberIdOf, type ServeConfig } from './config.js';
import { channelCredentialsFor, type MemberTls } from './tls.js';

/** How long a joining member waits for each peer it asks for the cluster's membership. */
const CLUSTER_INFO_TIMEOUT_MS = 3000;

/** This member's identity, and the membership a data dir with no snapshot starts from. */
export interface MemberIdentity {
  memberId: bigint;
  clusterId: bigint;
  founding: () => Membership;
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

/**
 * A data dir says which cluster and member it belongs to; an empty one joining an existing
 * cluster asks a peer; otherwise the member is one of the founding members.
 */
export async function discoverIdentity(
  config: ServeConfig,
  tls: MemberTls,
  log: Logger,
): Promise<MemberIdentity> {
  const founding = foundingMembers(config);
  const me = founding.find((m) => m.name === config.name);
  if (!me) throw new Error(`member ${config.name} is not in the initial cluster`);
  const identity: MemberIdentity = {
    memberId: me.id,
    clusterId: clusterIdOf(founding.map((m) => m.id)),
    founding: () => Membership.founding(founding),
  };
  const held = await new FileSnapshotStore(path.join(config.dataDir, 'snap')).latest();
  if (held) return { ...identity, memberId: held.memberId, clusterId: held.clusterId };
  if (config.initialClusterState !== 'existing') return identity;
  const info = await clusterFromPeers(
    founding.filter((m) => m.id !== me.id).map((m) => m.peerUrl),
    tls,
  );
  const clusterId = info.clusterId;
  const m = Membership.decode(info.membership);
  // MemberAdd chose the ID (with a time salt, as etcd's): find it by this member's peer URL.
  const self = m.byPeerUrl(me.peerUrl);
  if (!self)
    throw new ConfigError(
      `no member with peer URL ${me.peerUrl} in cluster ${clusterId.toString(16)}: add it with "member add" first`,
    );
  log.info(`joining cluster ${clusterId.toString(16)} as member ${self.id.toString(16)}`, {
    'cluster-id': clusterId.toString(16),
    'member-id': self.id.toString(16),
  });
  return { memberId: self.id, clusterId, founding: () => m };
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
        { signal: AbortSignal.timeout(CLUSTER_INFO_TIMEOUT_MS) },
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
