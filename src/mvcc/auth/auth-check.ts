/**
 * Which permission each KV and lease request needs (etcd's authApplierV3 and checkTxnAuth):
 * the checks run at apply for writes (with the credentials the proposing member saw, so every
 * member decides alike) and before serving for reads.
 */
import type {
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../../gen/etcdserverpb/rpc.js';
import { str } from '../convert.js';
import type { Lessor } from '../lease/lessor.js';
import type { AuthInfo, AuthStore } from './auth-store.js';

export function checkRangeAuth(
  as: AuthStore,
  ai: AuthInfo | undefined,
  r: Pick<RangeRequest, 'key' | 'rangeEnd'>,
): void {
  as.isRangePermitted(ai, str(r.key), str(r.rangeEnd));
}

export function checkPutAuth(as: AuthStore, lessor: Lessor, ai: AuthInfo | undefined, r: PutRequest): void {
  as.isPutPermitted(ai, str(r.key));
  if (r.lease !== 0n) checkLeasePuts(as, lessor, ai, r.lease);
  if (r.prevKv) as.isRangePermitted(ai, str(r.key), '');
}

export function checkDeleteAuth(as: AuthStore, ai: AuthInfo | undefined, r: DeleteRangeRequest): void {
  if (r.prevKv) as.isRangePermitted(ai, str(r.key), str(r.rangeEnd));
  as.isDeleteRangePermitted(ai, str(r.key), str(r.rangeEnd));
}

/** Every compare and every op of both branches, nested txns included. */
export function checkTxnAuth(as: AuthStore, lessor: Lessor, ai: AuthInfo | undefined, t: TxnRequest): void {
  if (!as.enabled) return;
  for (const c of t.compare) as.isRangePermitted(ai, str(c.key), str(c.rangeEnd));
  const ops = (list: RequestOp[]) => {
    for (const op of list) {
      if (op.requestRange) checkRangeAuth(as, ai, op.requestRange);
      else if (op.requestPut) checkPutAuth(as, lessor, ai, op.requestPut);
      else if (op.requestDeleteRange) checkDeleteAuth(as, ai, op.requestDeleteRange);
      else if (op.requestTxn) checkTxnAuth(as, lessor, ai, op.requestTxn);
    }
  };
  ops(t.success);
  ops(t.failure);
}

/** Write permission on every key attached to the lease (revoking it deletes them). */
export function checkLeasePuts(as: AuthStore, lessor: Lessor, ai: AuthInfo | undefined, id: bigint): void {
  if (!as.enabled) return;
  const l = lessor.get(id);
  if (!l) return;
  try {
    as.isAdminPermitted(ai);
    return;
  } catch {
    // Not root: each key is checked.
  }
  for (const key of l.keys) as.isPutPermitted(ai, key);
}

/** Read permission on every key attached to the lease (etcd 3.5's LeaseTimeToLive check). */
export function checkLeaseReads(as: AuthStore, lessor: Lessor, ai: AuthInfo | undefined, id: bigint): void {
  if (!as.enabled) return;
  const l = lessor.get(id);
  if (!l) return;
  for (const key of l.keys) as.isRangePermitted(ai, key, '');
}
