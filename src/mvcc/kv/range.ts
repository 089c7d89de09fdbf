/**
 * RangeRequest → RangeResponse exactly as etcd's applier computes it: limit+1 to learn `more`,
 * filters and sorting over everything when asked (then limit), count = keys in the range
 * before filters and limit, header revision = the store's revision (not the one read at).
 */
import {
  RangeRequest_SortOrder as Order,
  type RangeRequest,
  type RangeResponse,
  RangeRequest_SortTarget as Target,
} from '../../gen/etcdserverpb/rpc.js';
import { header, num, str, toKeyValue } from '../convert.js';
import { EmptyKeyError } from '../errors.js';
import type { Rev } from './key-index.js';
import { type KvStore, rangeEndOf } from './kv-store.js';

export function checkRangeRequest(r: RangeRequest): void {
  if (r.key.length === 0) throw new EmptyKeyError();
}

/**
 * Runs a range on `store` as seen at `current` (the store's revision, or a write txn's read
 * revision). Throws CompactedError / FutureRevisionError.
 */
export function applyRange(
  store: KvStore,
  r: RangeRequest,
  current: number = store.currentRev,
): RangeResponse {
  const atRev = store.checkReadRev(num(r.revision), current);
  const limit = num(r.limit);
  const sortOrder = r.sortOrder;
  const filtered =
    r.minModRevision !== 0n ||
    r.maxModRevision !== 0n ||
    r.minCreateRevision !== 0n ||
    r.maxCreateRevision !== 0n;
  const fetchAll = sortOrder !== Order.NONE || filtered;
  const fetch = fetchAll || limit <= 0 ? 0 : limit + 1;
  const res = store.range(str(r.key), rangeEndOf(str(r.rangeEnd)), atRev, fetch, r.countOnly);
  let kvs = res.kvs;
  if (filtered) {
    const maxMod = num(r.maxModRevision);
    const minMod = num(r.minModRevision);
    const maxCreate = num(r.maxCreateRevision);
    const minCreate = num(r.minCreateRevision);
    kvs = kvs.filter(
      (kv) =>
        !(maxMod !== 0 && kv.main > maxMod) &&
        !(minMod !== 0 && kv.main < minMod) &&
        !(maxCreate !== 0 && kv.create > maxCreate) &&
        !(minCreate !== 0 && kv.create < minCreate),
    );
  }
  // Results come in key order; a non-key target with no order sorts ascending (etcd does).
  let order = sortOrder;
  if (r.sortTarget !== Target.KEY && order === Order.NONE) order = Order.ASCEND;
  if (order === Order.ASCEND || order === Order.DESCEND)
    kvs = sortKvs(kvs, r.sortTarget, order === Order.DESCEND);
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  return {
    header: header(current),
    kvs: kvs.map((kv) => toKeyValue(kv, r.keysOnly)),
    more,
    count: BigInt(res.count),
  };
}

const fieldOf: Record<number, (r: Rev) => number | string> = {
  [Target.KEY]: (r) => r.key,
  [Target.VERSION]: (r) => r.version,
  [Target.CREATE]: (r) => r.create,
  [Target.MOD]: (r) => r.main,
  [Target.VALUE]: (r) => r.value,
};

/** Stable sort (ties keep key order, in both directions, like Go's sort on small inputs). */
function sortKvs(kvs: Rev[], target: Target, descend: boolean): Rev[] {
  const f = fieldOf[target] ?? fieldOf[Target.KEY]!;
  const sign = descend ? -1 : 1;
  const out = kvs.slice();
  out.sort((a, b) => {
    const x = f(a);
    const y = f(b);
    return x < y ? -sign : x > y ? sign : 0;
  });
  return out;
}
