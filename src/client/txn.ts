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

/** How a compare tests its target against the operand; `>` and `<` compare bytes for values. */
export type CompareOp = '==' | '!=' | '>' | '<';

/**
 * One condition of a transaction, built with `compare.*`. Plain data: it can be built once and
 * reused in any transaction, in any namespace.
 */
export interface CompareSpec {
  /** What of the key is compared. */
  readonly target: 'value' | 'version' | 'create' | 'mod' | 'lease';
  /** The key, or the range every key of which must pass. */
  readonly range: KeyRange;
  /** The comparison. */
  readonly op: CompareOp;
  /** What the target is compared with: bytes for `value`, a number for the others. */
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
 *
 * @example
 * ```ts
 * // create a key only if nobody has
 * const r = await client.txn().if(compare.missing('leader')).success(op.put('leader', 'me')).commit();
 * if (!r.succeeded) console.log('somebody else is leader');
 * ```
 */
export const compare = {
  /** The value (byte-wise). */
  value: (key: KeyRange, op: CompareOp, value: Value): CompareSpec => ({
    target: 'value',
    range: key,
    op: checkOp(op),
    operand: value,
  }),
  /** The number of puts since the key was created (0 for a missing key). */
  version: (key: KeyRange, op: CompareOp, version: bigint | number): CompareSpec => ({
    target: 'version',
    range: key,
    op: checkOp(op),
    operand: BigInt(version),
  }),
  /** The revision the key was created at (0 for a missing key). */
  createRevision: (key: KeyRange, op: CompareOp, rev: bigint | number): CompareSpec => ({
    target: 'create',
    range: key,
    op: checkOp(op),
    operand: BigInt(rev),
  }),
  /** The revision the key was last modified at: compare-and-swap against a value read earlier. */
  modRevision: (key: KeyRange, op: CompareOp, rev: bigint | number): CompareSpec => ({
    target: 'mod',
    range: key,
    op: checkOp(op),
    operand: BigInt(rev),
  }),
  /** The lease the key is attached to (0 for none): a lease ID or a `Lease`. */
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

/** One operation of a transaction, built with `op.*`. */
export type OpSpec =
  | {
      /** A read. */
      readonly type: 'range';
      /** The key or range to read. */
      readonly range: KeyRange;
      /** The read's options. */
      readonly options?: RangeOptions;
    }
  | {
      /** A write. */
      readonly type: 'put';
      /** The key to write. */
      readonly key: Key;
      /** The value to write. */
      readonly value: Value;
      /** The put's options. */
      readonly options?: PutOptions;
    }
  | {
      /** A delete. */
      readonly type: 'delete';
      /** The key or range to delete. */
      readonly range: KeyRange;
      /** The delete's options. */
      readonly options?: DeleteOptions;
    }
  | {
      /** A nested transaction. */
      readonly type: 'txn';
      /** The nested transaction. */
      readonly txn: TxnSpec;
    };

/** A transaction as plain data: what a `TxnBuilder` builds, and what `op.txn()` nests. */
export interface TxnSpec {
  /** The conditions; all must hold for `success` to run. */
  readonly compare: readonly CompareSpec[];
  /** The operations run when every compare holds. */
  readonly success: readonly OpSpec[];
  /** The operations run otherwise. */
  readonly failure: readonly OpSpec[];
}

/**
 * Operation builders for a transaction's branches. Their results come back in `TxnResult.responses`,
 * in the same order.
 *
 * @example
 * ```ts
 * const { responses } = await client
 *   .txn()
 *   .if(compare.modRevision('config', '==', seen.modRevision))
 *   .success(op.put('config', next), op.get('config'))
 *   .commit();
 * ```
 */
export const op = {
  /** Reads a key or a range. */
  get: (range: KeyRange, options?: RangeOptions): OpSpec => ({ type: 'range', range, options }),
  /** Writes a key. */
  put: (key: Key, value: Value, options?: PutOptions): OpSpec => ({ type: 'put', key, value, options }),
  /** Deletes a key or a range. */
  delete: (range: KeyRange, options?: DeleteOptions): OpSpec => ({ type: 'delete', range, options }),
  /** A nested transaction (etcd 3.3+). */
  txn: (t: TxnSpec | TxnBuilder): OpSpec => ({ type: 'txn', txn: t instanceof TxnBuilder ? t.spec() : t }),
};

/**
 * The result of one operation of a transaction: `type` says which, the rest is that operation's
 * result.
 */
export type OpResult =
  | ({
      /** A read's result. */
      type: 'range';
    } & RangeResult)
  | ({
      /** A put's result. */
      type: 'put';
    } & PutResult)
  | ({
      /** A delete's result. */
      type: 'delete';
    } & DeleteResult)
  | ({
      /** A nested transaction's result. */
      type: 'txn';
    } & TxnResult);

/** What a committed transaction returns. */
export interface TxnResult {
  /** The store revision after the transaction (it creates one revision for all its writes). */
  header: ResponseHeader;
  /** Whether every compare held (the `success` ops ran). */
  succeeded: boolean;
  /** The results of the branch that ran, one per operation, in order. */
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

  /** Adds conditions; every one must hold for the `success` branch to run. */
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
  /** The transaction as plain data, a copy: later builder calls do not change it. */
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
    // Absent for one key, as in rangeRequest(): present-but-empty means to the end on etcd.
    rangeEnd: rangeEnd.length === 0 ? undefined : rangeEnd,
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
