/**
 * Member and cluster IDs derived as etcd derives them, so that a member keeps its identity across
 * restarts with the same flags, and agrees with its peers on the cluster's ID without asking.
 */
import { createHash } from 'node:crypto';

/** etcd's member ID: the first 8 bytes of SHA-1(sorted peer URLs joined + cluster token), big-endian. */
export function memberIdOf(peerUrls: string[], token: string): bigint {
  const h = createHash('sha1')
    .update([...peerUrls].sort().join(''))
    .update(token)
    .digest();
  return h.readBigUInt64BE(0);
}

/** etcd's cluster ID: the first 8 bytes of SHA-1 over the sorted member IDs (8 bytes big-endian each). */
export function clusterIdOf(memberIds: bigint[]): bigint {
  const ids = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * ids.length);
  for (let i = 0; i < ids.length; i++) b.writeBigUInt64BE(ids[i]!, 8 * i);
  return createHash('sha1').update(b).digest().readBigUInt64BE(0);
}
