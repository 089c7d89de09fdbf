/**
 * Transactions: request validation (op counts, empty keys, the rule that one txn may not write
 * a key twice — etcd's checkIntervals, nested branches included), compare evaluation, and
 * execution. As in etcd, every compare of every nested txn is evaluated against the state
 * before the txn, the chosen path is checked (leases, ignore_* keys, range revisions), and
 * only then are the ops applied in order, each seeing the writes before it.
 */
import {
  Compare_CompareResult as CmpResult,
  Compare_CompareTarget as CmpTarget,
  type Compare,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from '../../gen/etcdserverpb/rpc.js';
import { EMPTY_HEADER, header, num, str } from '../convert.js';
import {
  CompactedError,
  DuplicateKeyError,
  EmptyKeyError,
  FutureRevisionError,
  TooManyOpsError,
} from '../errors.js';
import type { Rev } from './key-index.js';
import { type KvStore, rangeEndOf, type WriteTxn } from './kv-store.js';
import { applyRange, checkRangeRequest } from './range.js';
import {
  applyDeleteRange,
  applyPut,
  checkDeleteRequest,
  checkPutRequest,
  checkPutState,
  type LeaseLookup,
} from './write-ops.js';

/** etcd's --max-txn-ops default. */
export const DEFAULT_MAX_TXN_OPS = 128;

/**
 * How deep txns may nest. Each level is two messages (TxnRequest, RequestOp) and the generated
 * decoders refuse more than 1,000 (see scripts/gen-proto.mjs): past this depth a request would
 * be accepted but not decode again at apply. etcd's own rule below stops nesting at
 * --max-txn-ops levels (127 by default), so only a --max-txn-ops above 498 reaches it.
 */
export const MAX_TXN_DEPTH = 498;

/**
 * etcd's checkTxnRequest: a nested txn gets the ops budget its parent left (maxTxnOps minus the
 * parent's op count), so nesting itself is bounded by --max-txn-ops.
 */
export function checkTxnRequest(r: TxnRequest, maxTxnOps: number = DEFAULT_MAX_TXN_OPS, depth = 0): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps || depth > MAX_TXN_DEPTH) throw new TooManyOpsError();
  for (const c of r.compare) if (c.key.length === 0) throw new EmptyKeyError();
  for (const op of r.success) checkRequestOp(op, maxTxnOps - opc, depth);
  for (const op of r.failure) checkRequestOp(op, maxTxnOps - opc, depth);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number, depth: number): void {
  if (op.requestRange) checkRangeRequest(op.requestRange);
  else if (op.requestPut) checkPutRequest(op.requestPut);
  else if (op.requestDeleteRange) checkDeleteRequest(op.requestDeleteRange);
  else if (op.requestTxn) checkTxnRequest(op.requestTxn, maxTxnOps, depth + 1);
}

/** Full validation of a txn request: shapes, then duplicate writes in each branch. */
export function validateTxn(r: TxnRequest, maxTxnOps: number = DEFAULT_MAX_TXN_OPS): void {
  checkTxnRequest(r, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

/** A half-open interval of keys [begin, end); a point has end = undefined. Compared as etcd's string intervals. */
interface Interval {
  begin: string;
  end: string | undefined;
}

function containsPoint(iv: Interval, k: string): boolean {
  if (iv.end === undefined) return iv.begin === k;
  // etcd's StringAffineComparable treats "" as +infinity; any other end is literal.
  return iv.begin <= k && (iv.end === '' || k < iv.end);
}

/** etcd's checkIntervals: returns this level's puts and deletes (children included). */
function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of reqs) {
    const d = op.requestDeleteRange;
    if (!d) continue;
    const end = str(d.rangeEnd);
    dels.push({ begin: str(d.key), end: end.length === 0 ? undefined : end });
  }
  const intersects = (k: string) => dels.some((iv) => containsPoint(iv, k));
  const puts = new Set<string>();
  for (const op of reqs) {
    const t = op.requestTxn;
    if (!t) continue;
    const then = checkIntervals(t.success);
    const els = checkIntervals(t.failure);
    for (const k of then.puts) {
      if (puts.has(k) || intersects(k)) throw new DuplicateKeyError();
      puts.add(k);
    }
    for (const k of els.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw new DuplicateKeyError();
      if (intersects(k)) throw new DuplicateKeyError();
      puts.add(k);
    }
    dels.push(...then.dels, ...els.dels);
  }
  for (const op of reqs) {
    const p = op.requestPut;
    if (!p) continue;
    const k = str(p.key);
    if (puts.has(k) || intersects(k)) throw new DuplicateKeyError();
    puts.add(k);
  }
  return { puts, dels };
}

/** A txn with no write anywhere in it (nested txns included) is a read. */
export function isReadOnlyTxn(r: TxnRequest): boolean {
  const ro = (ops: RequestOp[]): boolean =>
    ops.every(
      (op) => !op.requestPut && !op.requestDeleteRange && (!op.requestTxn || isReadOnlyTxn(op.requestTxn)),
    );
  return ro(r.success) && ro(r.failure);
}

/** Chosen branch of the txn and of every nested txn on it, in depth-first order. */
export function compareToPath(store: KvStore, r: TxnRequest): boolean[] {
  const path: boolean[] = [];
  const walk = (t: TxnRequest) => {
    const ok = t.compare.every((c) => applyCompare(store, c));
    path.push(ok);
    for (const op of ok ? t.success : t.failure) if (op.requestTxn) walk(op.requestTxn);
  };
  walk(r);
  return path;
}

function applyCompare(store: KvStore, c: Compare): boolean {
  const kvs = store.range(str(c.key), rangeEndOf(str(c.rangeEnd)), store.currentRev, 0, false).kvs;
  if (kvs.length === 0) {
    // A missing key has no value: comparing one always fails (nil == empty in gRPC).
    if (c.target === CmpTarget.VALUE) return false;
    return compareKv(c, undefined);
  }
  return kvs.every((kv) => compareKv(c, kv));
}

/**
 * etcd's compareKV: the target_union field is read only when it is the one the target names
 * (another one compares against 0 or empty); an unknown target compares as equal, and an
 * unknown result holds.
 */
function compareKv(c: Compare, kv: Rev | undefined): boolean {
  let d: number;
  switch (c.target) {
    case CmpTarget.VALUE: {
      const a = kv ? kv.value : '';
      const b = str(c.value);
      d = a < b ? -1 : a > b ? 1 : 0;
      break;
    }
    case CmpTarget.CREATE:
      d = Math.sign((kv?.create ?? 0) - num(c.createRevision));
      break;
    case CmpTarget.MOD:
      d = Math.sign((kv?.main ?? 0) - num(c.modRevision));
      break;
    case CmpTarget.LEASE: {
      const a = kv?.lease ?? 0n;
      const b = c.lease ?? 0n;
      d = a < b ? -1 : a > b ? 1 : 0;
      break;
    }
    case CmpTarget.VERSION:
      d = Math.sign((kv?.version ?? 0) - num(c.version));
      break;
    default:
      d = 0;
  }
  switch (c.result) {
    case CmpResult.EQUAL:
      return d === 0;
    case CmpResult.NOT_EQUAL:
      return d !== 0;
    case CmpResult.GREATER:
      return d > 0;
    case CmpResult.LESS:
      return d < 0;
    default:
      return true;
  }
}

/**
 * Checks every op on the chosen path against the pre-txn state, as etcd's applyTxn does: first
 * every put of the path (leases, ignore_* keys) when the txn writes, then every range's revision,
 * so a bad put wins over a bad range wherever they stand.
 */
export function checkTxnPath(
  store: KvStore,
  leases: LeaseLookup,
  r: TxnRequest,
  path: boolean[],
  write: boolean,
): void {
  const walk = (check: (op: RequestOp) => void) => {
    let i = 0;
    const branch = (t: TxnRequest) => {
      for (const op of path[i++] ? t.success : t.failure) {
        if (op.requestTxn) branch(op.requestTxn);
        else check(op);
      }
    };
    branch(r);
  };
  if (write) walk((op) => op.requestPut && checkPutState(store, leases, op.requestPut));
  walk((op) => {
    // etcd's checkRequestRange: any revision but 0 below the compact revision (-1 before the
    // first compaction) is compacted, negative ones included; a top-level Range reads a
    // negative revision as the current one, a txn's does not.
    const rev = num(op.requestRange?.revision);
    if (rev === 0) return;
    if (rev > store.currentRev) throw new FutureRevisionError();
    if (rev < store.compactRev) throw new CompactedError();
  });
}

/** Applies the chosen path inside `w` (already checked). */
export function applyTxnOps(
  w: WriteTxn | undefined,
  store: KvStore,
  r: TxnRequest,
  path: boolean[],
): TxnResponse {
  let i = 0;
  const walk = (t: TxnRequest): TxnResponse => {
    const succeeded = path[i++]!;
    const responses: ResponseOp[] = [];
    for (const op of succeeded ? t.success : t.failure) {
      if (op.requestRange)
        responses.push({ responseRange: applyRange(store, op.requestRange, w ? w.readRev : undefined) });
      else if (op.requestPut) responses.push({ responsePut: applyPut(w!, store, op.requestPut) });
      else if (op.requestDeleteRange)
        responses.push({ responseDeleteRange: applyDeleteRange(w!, op.requestDeleteRange) });
      else if (op.requestTxn) responses.push({ responseTxn: walk(op.requestTxn) });
    }
    return { header: EMPTY_HEADER(), succeeded, responses };
  };
  const resp = walk(r);
  resp.header = header(w ? w.end() : store.currentRev);
  return resp;
}
