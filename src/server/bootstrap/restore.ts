/**
 * `concord snapshot restore`: a new cluster from a snapshot, as `etcdutl snapshot restore` makes
 * one. Every member runs it with the same flags and the same snapshot; each gets a data dir
 * whose only snapshot is at Raft index 1 with the new membership, so the members agree from
 * their first start. The keyspace moves forward by `bumpRevision` and, with `markCompacted`,
 * everything before is compacted: a client or watcher of the old cluster that asks for an old
 * revision is told it is compacted instead of reading revisions that mean something else here.
 *
 * The new cluster ID mixes the members' IDs (as a new cluster's) with the snapshot's SHA-256, so
 * a cluster restored with the old flags still gets an ID of its own: members of the old cluster
 * and of the new one refuse each other's messages.
 */
import { createHash } from 'node:crypto';
import { restore as restoreState, type StateMachine, snapshot } from '../../mvcc/index.js';
import { rangeEndOf } from '../../mvcc/kv/kv-store.js';
import type { SnapshotSource } from '../../storage/index.js';
import { Membership } from '../raft/membership.js';
import { clusterIdOf, type ServeConfig } from './config.js';
import { foundingMembers } from './discovery.js';
import { initDataDir } from './recover.js';

/** etcdutl's --bump-revision is 0 by default; a restore here bumps unless told not to. */
export const DEFAULT_BUMP_REVISION = 1_000_000;

export interface RestoreOptions {
  /** The member's flags: name, data dir, initial cluster and token, as `concord serve` takes them. */
  config: ServeConfig;
  /** The snapshot's data (checked by the caller or by the stream itself) and its SHA-256. */
  data: SnapshotSource;
  sha256: string;
  bumpRevision: number;
  markCompacted: boolean;
}

export interface RestoreResult {
  clusterId: bigint;
  memberId: bigint;
  /** The revision the snapshot held, and the one the new cluster starts at. */
  fromRevision: number;
  revision: number;
  compactRevision: number;
  keys: number;
}

export function restoredClusterId(memberIds: bigint[], sha256: string): bigint {
  const base = Buffer.alloc(8);
  base.writeBigUInt64BE(clusterIdOf(memberIds));
  return createHash('sha1').update(base).update(sha256).digest().readBigUInt64BE(0);
}

export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  if (!Number.isSafeInteger(o.bumpRevision) || o.bumpRevision < 0)
    throw new RangeError(`--bump-revision: expected an integer ≥ 0, got ${o.bumpRevision}`);
  const founding = foundingMembers(o.config);
  const me = founding.find((m) => m.name === o.config.name)!;
  const sm: StateMachine = await restoreState(o.data);
  const fromRevision = sm.kv.currentRev;
  sm.kv.currentRev += o.bumpRevision;
  if (o.markCompacted) sm.kv.compact(sm.kv.currentRev);
  sm.appliedIndex = 1;
  const clusterId = restoredClusterId(
    founding.map((m) => m.id),
    o.sha256,
  );
  await initDataDir(
    o.config.dataDir,
    {
      clusterId,
      memberId: me.id,
      term: 1,
      index: 1,
      membership: Membership.founding(founding).encode(),
    },
    snapshot(sm),
  );
  return {
    clusterId,
    memberId: me.id,
    fromRevision,
    revision: sm.kv.currentRev,
    compactRevision: sm.kv.compactRev,
    keys: sm.kv.range('\0', rangeEndOf('\0'), sm.kv.currentRev, 0, true).count,
  };
}
