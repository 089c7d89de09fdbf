/**
 * Copies one snapshot between stores, streaming and verified end to end: how a member with an
 * empty data dir bootstraps from PostgreSQL into its local file store (and how a restore reads
 * it). If the source's bytes fail their checksum the copy fails and the target keeps nothing.
 */
import { SnapshotChecksumError } from '../errors.js';
import type { SnapshotMeta, SnapshotStore, StoreCallOptions } from './types.js';

export async function copySnapshot(
  from: SnapshotStore,
  id: string,
  to: SnapshotStore,
  opts?: StoreCallOptions,
): Promise<SnapshotMeta> {
  const m = await from.stat(id, opts);
  const info = {
    clusterId: m.clusterId,
    memberId: m.memberId,
    term: m.term,
    index: m.index,
    membership: m.membership,
  };
  const saved = await to.save(info, await from.open(id, opts), opts);
  if (saved.sha256 !== m.sha256 || saved.size !== m.size)
    throw new SnapshotChecksumError(
      id,
      `copied ${saved.size} bytes with sha256 ${saved.sha256}, source recorded ${m.size} / ${m.sha256}`,
    );
  return saved;
}
