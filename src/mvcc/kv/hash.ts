/**
 * HashKV: a CRC32C over every stored revision at or below a revision, in key order then
 * revision order. It depends only on the applied entries (compaction included), so every
 * member that applied the same log answers the same hash. (Not bit-compatible with etcd's,
 * which hashes bbolt's encoding; members of one Concord cluster only compare with each other.)
 */
import { crc32c } from '@node-rs/crc32';
import type { HashKVResponse } from '../../gen/etcdserverpb/rpc.js';
import { header } from '../convert.js';
import type { KvStore } from './kv-store.js';

const CHUNK = 64 * 1024;

export function hashKV(store: KvStore, revision: number): HashKVResponse {
  const rev = store.checkReadRev(revision);
  let crc = 0;
  let buf = Buffer.allocUnsafe(CHUNK);
  let n = 0;
  const flush = () => {
    if (n > 0) crc = crc32c(buf.subarray(0, n), crc);
    n = 0;
  };
  const ensure = (bytes: number) => {
    if (n + bytes <= buf.length) return;
    flush();
    if (bytes > buf.length) buf = Buffer.allocUnsafe(bytes);
  };
  for (const [key, revs] of store.index.entries()) {
    for (const r of revs) {
      if (r.main > rev) break;
      ensure(45 + key.length + r.value.length);
      n = buf.writeUInt32BE(key.length, n);
      n += buf.write(key, n, 'latin1');
      n = buf.writeDoubleBE(r.main, n);
      n = buf.writeUInt32BE(r.sub, n);
      n = buf.writeUInt8(r.tomb ? 1 : 0, n);
      n = buf.writeDoubleBE(r.create, n);
      n = buf.writeDoubleBE(r.version, n);
      n = buf.writeBigInt64BE(r.lease, n);
      n = buf.writeUInt32BE(r.value.length, n);
      n += buf.write(r.value, n, 'latin1');
    }
  }
  flush();
  return {
    header: header(store.currentRev),
    hash: crc >>> 0,
    // etcd answers -1 until the first compaction (its compactMainRev starts there).
    compactRevision: BigInt(store.compactRev),
    hashRevision: BigInt(rev),
  };
}
