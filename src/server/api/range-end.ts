/**
 * A `range_end` that is present on the wire with zero length is not an absent one — but only
 * where etcd serves the request as it was decoded. gogo's decoder keeps an empty bytes field
 * as a non-nil []byte{}, which etcd's index reads as "to the end of the keyspace", as "\0";
 * gogo's encoder drops an empty bytes field, so a request that is re-marshaled on its way
 * loses the difference. Measured against etcd 3.4:
 * - Range, and a read-only Txn (its ranges and its compares), are served from the request as
 *   decoded: present-empty reads to the end of the keyspace. "Read-only" is etcd's
 *   isTxnReadonly: every op of both branches a Range. A Txn holding a nested Txn is not, even
 *   when nothing in it writes (Concord serves that one locally too, but must answer as etcd);
 * - any other Txn is marshaled into a raft entry: present-empty is absent again (one key);
 * - the JSON gateway re-marshals every request to call the gRPC server: `"range_end": ""` is
 *   absent;
 * - DeleteRange, Watch and permissions have no presence (proto3 bytes): empty is one key.
 * RangeRequest.range_end and Compare.range_end are `optional` in proto/ to keep the difference;
 * these functions apply etcd's rule before the state machine, which reads empty as one key.
 */
import type { Compare, RangeRequest, RequestOp, TxnRequest } from '../../gen/etcdserverpb/rpc.js';

const TO_END = Buffer.from([0]);

type Rule = (end: Buffer) => Buffer | undefined;
/** Served as decoded: present-empty means to the end. */
const AS_DECODED: Rule = (end) => (end.length === 0 ? TO_END : end);
/** Re-marshaled: present-empty is absent. */
const REMARSHALED: Rule = (end) => (end.length === 0 ? undefined : end);

function range(r: RangeRequest, rule: Rule): RangeRequest {
  if (r.rangeEnd === undefined || r.rangeEnd.length !== 0) return r;
  return { ...r, rangeEnd: rule(r.rangeEnd) };
}

function compare(c: Compare, rule: Rule): Compare {
  if (c.rangeEnd === undefined || c.rangeEnd.length !== 0) return c;
  return { ...c, rangeEnd: rule(c.rangeEnd) };
}

function ops(list: RequestOp[], rule: Rule): RequestOp[] {
  const out = list.map((op) => {
    if (op.requestRange) {
      const r = range(op.requestRange, rule);
      return r === op.requestRange ? op : { ...op, requestRange: r };
    }
    if (op.requestTxn) {
      const t = txn(op.requestTxn, rule);
      return t === op.requestTxn ? op : { ...op, requestTxn: t };
    }
    return op;
  });
  return out.every((op, i) => op === list[i]) ? list : out;
}

function txn(t: TxnRequest, rule: Rule): TxnRequest {
  const cmp = t.compare.map((c) => compare(c, rule));
  const success = ops(t.success, rule);
  const failure = ops(t.failure, rule);
  const changed = success !== t.success || failure !== t.failure || cmp.some((c, i) => c !== t.compare[i]);
  return changed ? { ...t, compare: cmp, success, failure } : t;
}

/** etcd's isTxnReadonly: every op of both branches is a Range (a nested Txn is not). */
export function servedAsDecoded(t: TxnRequest): boolean {
  return t.success.every((op) => op.requestRange) && t.failure.every((op) => op.requestRange);
}

/** A Range served from the request as decoded. */
export const servedRange = (r: RangeRequest): RangeRequest => range(r, AS_DECODED);
/** A read-only Txn, served from the request as decoded. */
export const servedTxn = (t: TxnRequest): TxnRequest => txn(t, AS_DECODED);
/** A request re-marshaled before it is served (a write Txn's raft entry, the gateway's call). */
export const remarshaledRange = (r: RangeRequest): RangeRequest => range(r, REMARSHALED);
export const remarshaledTxn = (t: TxnRequest): TxnRequest => txn(t, REMARSHALED);
