/**
 * Transactions: `if(compares).success(ops).failure(ops)`, applied atomically at one revision.
 * Compares and ops hold user-level keys; the keyspace translates them at commit, so the same
 * builder works in a namespace.
 */
import {
  type Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from '../gen/etcdserverpb/rpc.js';
import { type Key, toBuffer, type Value } from './bytes.js';
import type { KeyRange, Keyspace } from './keyspace.js';
import {
  type DeleteOptions,
  type DeleteResult,
  deleteRequest,
  deleteResult,
  header,
  type PutOptions,
  type PutResult,
  putRequest,
  putResult,
  type RangeOptions,
  type RangeResult,
  type ResponseHeader,
  rangeRequest,
  rangeResult,
} from './kv.js';

export type CompareOp = '==' | '!=' | '>' | '<';

export interface CompareSpec {
  readonly target: 'value' | 'version' | 'create' | 'mod' | 'lease';
  readonly range: KeyRange;
  readonly op: CompareOp;
  readonly operand: Value | bigint;
}

const RESULT: Record<CompareOp, Compare_CompareResult> = {
  '==': Compare_CompareResult.EQUAL,
  '!=': Compare_CompareResult.NOT_EQUAL,
  '>': Compare_CompareResult.GREATER,
  '<': Compare_CompareResult.LESS,
};

function checkOp(op: CompareOp): CompareOp {
  if (!(op in RESULT))
    throw new TypeError(`invalid compare operator ${JSON.stringify(op)}: use ==, !=, > or <`);
  return op;
}

/**
 * Compare builders. `key` may be a range (`{ prefix }`, `{ key, end }`): the compare then holds
 * only if it holds for every key in it. A missing key has version, create and mod revision 0.
 */
export const compare = {
  value: (key: KeyRange, op: CompareOp, value: Value): CompareSpec => ({
    target: 'value',
    range: key,
    op: checkOp(op),
    operand: value,
  }),
  version: (key: KeyRange, op: CompareOp, version: bigint | number): CompareSpec => ({
    target: 'version',
    range: key,
    op: checkOp(op),
    operand: BigInt(version),
  }),
  createRevision: (key: KeyRange, op: CompareOp, rev: bigint | number): CompareSpec => ({
    target: 'create',
    range: key,
    op: checkOp(op),
    operand: BigInt(rev),
  }),
  modRevision: (key: KeyRange, op: CompareOp, rev: bigint | number): CompareSpec => ({
    target: 'mod',
    range: key,
    op: checkOp(op),
    operand: BigInt(rev),
  }),
  lease: (key: KeyRange, op: CompareOp, lease: bigint | number | { readonly id: bigint }): CompareSpec => ({
    target: 'lease',
    range: key,
    op: checkOp(op),
    operand: typeof lease === 'object' ? lease.id : BigInt(lease),
  }),
  /** The key exists (version > 0). */
  exists: (key: Key): CompareSpec => compare.version(key, '>', 0n),
  /** The key does not exist (create revision = 0). */
  missing: (key: Key): CompareSpec => compare.createRevision(key, '==', 0n),
};

export type OpSpec =
  | { readonly type: 'range'; readonly range: KeyRange; readonly options?: RangeOptions }
  | { readonly type: 'put'; readonly key: Key; readonly value: Value; readonly options?: PutOptions }
  | { readonly type: 'delete'; readonly range: KeyRange; readonly options?: DeleteOptions }
  | { readonly type: 'txn'; readonly txn: TxnSpec };

export interface TxnSpec {
  readonly compare: readonly CompareSpec[];
  readonly success: readonly OpSpec[];
  readonly failure: readonly OpSpec[];
}

export const op = {
  get: (range: KeyRange, options?: RangeOptions): OpSpec => ({ type: 'range', range, options }),
  put: (key: Key, value: Value, options?: PutOptions): OpSpec => ({ type: 'put', key, value, options }),
  delete: (range: KeyRange, options?: DeleteOptions): OpSpec => ({ type: 'delete', range, options }),
  /** A nested transaction (etcd 3.3+). */
  txn: (t: TxnSpec | TxnBuilder): OpSpec => ({ type: 'txn', txn: t instanceof TxnBuilder ? t.spec() : t }),
};

export type OpResult =
  | ({ type: 'range' } & RangeResult)
  | ({ type: 'put' } & PutResult)
  | ({ type: 'delete' } & DeleteResult)
  | ({ type: 'txn' } & TxnResult);

export interface TxnResult {
  header: ResponseHeader;
  /** Whether every compare held (the `success` ops ran). */
  succeeded: boolean;
  responses: OpResult[];
}

/**
 * A transaction under construction; `client.txn()` gives one that can `commit()`.
 * The branches are `success()`/`failure()` (etcd's field names), not then/else: a builder
 * with a `then` method would be a thenable, and `await`ing it by mistake would hang.
 */
export class TxnBuilder {
  #compare: CompareSpec[] = [];
  #success: OpSpec[] = [];
  #failure: OpSpec[] = [];

  if(...compares: CompareSpec[]): this {
    this.#compare.push(...compares);
    return this;
  }
  /** Ops to run when every compare holds. */
  success(...ops: OpSpec[]): this {
    this.#success.push(...ops);
    return this;
  }
  /** Ops to run otherwise. */
  failure(...ops: OpSpec[]): this {
    this.#failure.push(...ops);
    return this;
  }
  spec(): TxnSpec {
    return { compare: [...this.#compare], success: [...this.#success], failure: [...this.#failure] };
  }
}

/** An unbound transaction builder, for nesting with `op.txn(txn().if(...))`. */
export function txn(): TxnBuilder {
  return new TxnBuilder();
}

function compareToWire(ks: Keyspace, c: CompareSpec): Compare {
  const { key, rangeEnd } = ks.range(c.range);
  const base: Compare = {
    result: RESULT[c.op],
    target: Compare_CompareTarget.VERSION,
    key,
    rangeEnd,
  };
  switch (c.target) {
    case 'value':
      return { ...base, target: Compare_CompareTarget.VALUE, value: toBuffer(c.operand as Value) };
    case 'version':
      return { ...base, target: Compare_CompareTarget.VERSION, version: c.operand as bigint };
    case 'create':
      return { ...base, target: Compare_CompareTarget.CREATE, createRevision: c.operand as bigint };
    case 'mod':
      return { ...base, target: Compare_CompareTarget.MOD, modRevision: c.operand as bigint };
    case 'lease':
      return { ...base, target: Compare_CompareTarget.LEASE, lease: c.operand as bigint };
  }
}

function opToWire(ks: Keyspace, o: OpSpec): RequestOp {
  switch (o.type) {
    case 'range':
      return { requestRange: rangeRequest(ks, o.range, o.options) };
    case 'put':
      return { requestPut: putRequest(ks, o.key, o.value, o.options) };
    case 'delete':
      return { requestDeleteRange: deleteRequest(ks, o.range, o.options) };
    case 'txn':
      return { requestTxn: txnRequest(ks, o.txn) };
  }
}

export function txnRequest(ks: Keyspace, t: TxnSpec): TxnRequest {
  return {
    compare: t.compare.map((c) => compareToWire(ks, c)),
    success: t.success.map((o) => opToWire(ks, o)),
    failure: t.failure.map((o) => opToWire(ks, o)),
  };
}

/** A transaction that only reads may be retried on another member. */
export function isReadOnly(t: TxnSpec): boolean {
  const ro = (ops: readonly OpSpec[]): boolean =>
    ops.every((o) => o.type === 'range' || (o.type === 'txn' && isReadOnly(o.txn)));
  return ro(t.success) && ro(t.failure);
}

function opResult(ks: Keyspace, r: ResponseOp): OpResult {
  if (r.responseRange) return { type: 'range', ...rangeResult(ks, r.responseRange) };
  if (r.responsePut) return { type: 'put', ...putResult(ks, r.responsePut) };
  if (r.responseDeleteRange) return { type: 'delete', ...deleteResult(ks, r.responseDeleteRange) };
  if (r.responseTxn) return { type: 'txn', ...txnResult(ks, r.responseTxn) };
  throw new TypeError('empty ResponseOp from server');
}

export function txnResult(ks: Keyspace, r: TxnResponse): TxnResult {
  return {
    header: header(r.header),
    succeeded: r.succeeded,
    responses: r.responses.map((x) => opResult(ks, x)),
  };
}
