/** Request builders for mvcc tests: fill defaults so a test writes only what matters. */
import {
  type Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  type DeepPartial,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  type RequestOp,
  TxnRequest,
  WatchCreateRequest,
} from '../../src/gen/etcdserverpb/rpc.js';

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

export const range = (key: string, o: DeepPartial<RangeRequest> = {}): RangeRequest =>
  RangeRequest.fromPartial({ key: b(key), ...o });
export const put = (key: string, value: string, o: DeepPartial<PutRequest> = {}): PutRequest =>
  PutRequest.fromPartial({ key: b(key), value: b(value), ...o });
export const del = (key: string, o: DeepPartial<DeleteRangeRequest> = {}): DeleteRangeRequest =>
  DeleteRangeRequest.fromPartial({ key: b(key), ...o });
export const txn = (compare: Compare[], success: RequestOp[], failure: RequestOp[] = []): TxnRequest =>
  TxnRequest.fromPartial({ compare, success, failure });
export const watchReq = (key: string, o: DeepPartial<WatchCreateRequest> = {}): WatchCreateRequest =>
  WatchCreateRequest.fromPartial({ key: b(key), ...o });

export const opPut = (key: string, value: string, o: DeepPartial<PutRequest> = {}): RequestOp => ({
  requestPut: put(key, value, o),
});
export const opRange = (key: string, o: DeepPartial<RangeRequest> = {}): RequestOp => ({
  requestRange: range(key, o),
});
export const opDel = (key: string, o: DeepPartial<DeleteRangeRequest> = {}): RequestOp => ({
  requestDeleteRange: del(key, o),
});
export const opTxn = (t: TxnRequest): RequestOp => ({ requestTxn: t });

type Target = 'value' | 'version' | 'create' | 'mod' | 'lease';
type Result = '=' | '!=' | '>' | '<';
const TARGETS: Record<Target, Compare_CompareTarget> = {
  value: Compare_CompareTarget.VALUE,
  version: Compare_CompareTarget.VERSION,
  create: Compare_CompareTarget.CREATE,
  mod: Compare_CompareTarget.MOD,
  lease: Compare_CompareTarget.LEASE,
};
const RESULTS: Record<Result, Compare_CompareResult> = {
  '=': Compare_CompareResult.EQUAL,
  '!=': Compare_CompareResult.NOT_EQUAL,
  '>': Compare_CompareResult.GREATER,
  '<': Compare_CompareResult.LESS,
};

export function cmp(key: string, target: Target, result: Result, v: string | bigint, rangeEnd = ''): Compare {
  const c: Compare = {
    key: b(key),
    rangeEnd: b(rangeEnd),
    target: TARGETS[target],
    result: RESULTS[result],
  };
  if (target === 'value') c.value = b(v as string);
  else if (target === 'version') c.version = v as bigint;
  else if (target === 'create') c.createRevision = v as bigint;
  else if (target === 'mod') c.modRevision = v as bigint;
  else c.lease = v as bigint;
  return c;
}
