/**
 * The space quota (etcd's backend quota + NOSPACE alarm). The keyspace's size is the byte sum
 * of its stored revisions (KvStore.sizeBytes), the same on every member. A write that would
 * take it past the quota is refused with `database space exceeded` and raises the NOSPACE
 * alarm; while the alarm is active, every request that costs space (put, txn with puts, lease
 * grant) is refused, until the alarm is disarmed (after compaction frees space). Reads,
 * deletes and compaction always pass.
 */
import {
  AlarmType,
  type LeaseGrantRequest,
  type PutRequest,
  type RequestOp,
  type TxnRequest,
} from '../gen/etcdserverpb/rpc.js';
import type { Alarms } from './alarms.js';

/** etcd's default --quota-backend-bytes (2 GiB). */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
/** Cost of a put on top of its key and value (etcd's kvOverhead). */
export const PUT_OVERHEAD_BYTES = 256;
/** Cost of a lease grant (etcd's leaseOverhead). */
export const LEASE_OVERHEAD_BYTES = 64;

export type CostedRequest =
  | { put: PutRequest }
  | { txn: TxnRequest }
  | { leaseGrant: LeaseGrantRequest }
  | Record<string, unknown>;

export function putCost(p: PutRequest): number {
  return PUT_OVERHEAD_BYTES + p.key.length + p.value.length;
}

/** The larger branch's puts, nested txns included (etcd's costTxn). */
export function txnCost(t: TxnRequest): number {
  const branch = (ops: RequestOp[]) => {
    let c = 0;
    for (const op of ops) {
      if (op.requestPut) c += putCost(op.requestPut);
      else if (op.requestTxn) c += txnCost(op.requestTxn);
    }
    return c;
  };
  return Math.max(branch(t.success), branch(t.failure));
}

/** Bytes a request may add (0 = it never needs space). */
export function requestCost(req: CostedRequest): number {
  if ('put' in req && req.put) return putCost(req.put as PutRequest);
  if ('txn' in req && req.txn) return txnCost(req.txn as TxnRequest);
  if ('leaseGrant' in req && req.leaseGrant) return LEASE_OVERHEAD_BYTES;
  return 0;
}

export class Quota {
  constructor(readonly limitBytes: number = DEFAULT_QUOTA_BYTES) {}

  /** Whether `cost` more bytes fit on top of `sizeBytes`. A quota ≤ 0 means the default. */
  available(sizeBytes: number, cost: number): boolean {
    if (cost === 0) return true;
    const limit = this.limitBytes > 0 ? this.limitBytes : DEFAULT_QUOTA_BYTES;
    return sizeBytes + cost <= limit;
  }

  /**
   * Why a request that costs `cost` bytes may not be applied now: the NOSPACE alarm is active,
   * or it would take the keyspace past the quota; undefined when it may. The one check for both
   * sides: the server's before proposing (StateMachine.checkQuota) and the QuotaApplier's.
   */
  refusal(cost: number, sizeBytes: number, alarms: Alarms): 'alarm' | 'quota' | undefined {
    if (cost === 0) return undefined;
    if (alarms.has(AlarmType.NOSPACE)) return 'alarm';
    return this.available(sizeBytes, cost) ? undefined : 'quota';
  }
}
