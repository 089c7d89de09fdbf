/**
 * The shapes KV calls return, and the translation between them and the wire messages.
 */
import {
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type RangeResponse,
  type ResponseHeader as WireHeader,
} from '../gen/etcdserverpb/rpc.js';
import type { KeyValue as WireKeyValue } from '../gen/mvccpb/kv.js';
import { copyBytes, type Key, toBuffer, utf8, type Value } from './bytes.js';
import type { KeyRange, Keyspace } from './keyspace.js';

/** Every response carries the cluster and member that answered, the store revision and raft term. */
export interface ResponseHeader {
  /** The cluster's ID: the same on every member, so a changed ID means the endpoint is another cluster. */
  clusterId: bigint;
  /** The member that served the request. */
  memberId: bigint;
  /** The store's revision when the request was served. */
  revision: bigint;
  /** The raft term the member was in: it grows with every election. */
  raftTerm: bigint;
}

/**
 * A key as the store holds it, with the revisions that make it usable for coordination:
 * `createRevision` orders waiters and fences writes, `modRevision` drives compare-and-swap.
 * Keys come back relative to the namespace they were read through.
 *
 * @example
 * ```ts
 * const { kvs } = await client.get({ prefix: 'config/' });
 * for (const kv of kvs) console.log(kv.keyText(), kv.text(), kv.modRevision);
 * ```
 */
export class KeyValue {
  constructor(
    /** The key, without the prefix of the namespace it was read through. */
    readonly key: Buffer,
    /** The value's bytes (empty for a `keysOnly` read); `text()` and `json()` decode them. */
    readonly value: Buffer,
    /** Revision of the last creation of this key (the fencing token of a lock key). */
    readonly createRevision: bigint,
    /** Revision of the last modification. */
    readonly modRevision: bigint,
    /** Number of modifications since creation (1 after the first put). */
    readonly version: bigint,
    /** Attached lease ID, 0n for none. */
    readonly lease: bigint,
  ) {}

  /** The value as UTF-8 text. */
  text(): string {
    return utf8(this.value);
  }

  /** The value parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(utf8(this.value)) as T;
  }

  /** The key as UTF-8 text. */
  keyText(): string {
    return utf8(this.key);
  }
}

/** What a read returns: the keys in key order unless `sort` asked otherwise. */
export interface RangeResult {
  /** The member, term and store revision the read was served at. */
  header: ResponseHeader;
  /** The keys found (none with `countOnly`). */
  kvs: KeyValue[];
  /** More keys matched than `limit` let through. */
  more: boolean;
  /**
   * How many keys are in the range, as etcd counts them: before `limit` and before the
   * min/max mod/create revision filters are applied.
   */
  count: bigint;
}

/** What a put returns. */
export interface PutResult {
  /** The store revision the put created is `header.revision`. */
  header: ResponseHeader;
  /** The previous key-value, when `prevKv` was asked for and the key existed. */
  prevKv: KeyValue | undefined;
}

/** What a delete returns. */
export interface DeleteResult {
  /** The store revision the delete created (unchanged when nothing was deleted). */
  header: ResponseHeader;
  /** How many keys were deleted. */
  deleted: bigint;
  /** The deleted key-values, when `prevKv` was asked for. */
  prevKvs: KeyValue[];
}

/** The field a read sorts by: the key, its version, its create or mod revision, or its value. */
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
/** `'none'` leaves the store's key order. */
export type SortOrder = 'none' | 'ascend' | 'descend';

/**
 * Options of a read (`get`, `getString`, `getJSON`, `txn` gets), etcd's RangeRequest fields.
 *
 * @example
 * ```ts
 * // the ten most recently modified keys under jobs/
 * const { kvs } = await client.get({ prefix: 'jobs/' }, { sort: { target: 'mod', order: 'descend' }, limit: 10 });
 * ```
 */
export interface RangeOptions {
  /** Return at most this many keys (0: no limit); `more` says whether some were left out. */
  limit?: number | bigint;
  /** Sort the keys; the target defaults to the key, the order to ascending. */
  sort?: {
    /** Defaults to `'key'`. */
    target?: SortTarget;
    /** Defaults to `'ascend'`. */
    order?: SortOrder;
  };
  /** Leave the values out (they come back empty): cheaper when only the keys matter. */
  keysOnly?: boolean;
  /** Return only `count`, no keys. */
  countOnly?: boolean;
  /** Read the store as of this revision (a historical read). */
  revision?: bigint | number;
  /** Serve from the local member without a quorum round (may be stale). */
  serializable?: boolean;
  /** Only keys last modified at or after this revision. */
  minModRevision?: bigint | number;
  /** Only keys last modified at or before this revision. */
  maxModRevision?: bigint | number;
  /** Only keys created at or after this revision. */
  minCreateRevision?: bigint | number;
  /** Only keys created at or before this revision. */
  maxCreateRevision?: bigint | number;
}

/** Options of a put, etcd's PutRequest fields. */
export interface PutOptions {
  /** Attach the key to this lease (an ID or anything with an `id`, such as a Lease). */
  lease?:
    | bigint
    | {
        /** The lease's ID. */
        readonly id: bigint;
      };
  /** Return the key-value the put replaced, as `prevKv`. */
  prevKv?: boolean;
  /** Keep the current value; only the lease changes. */
  ignoreValue?: boolean;
  /** Keep the current lease; only the value changes. */
  ignoreLease?: boolean;
}

/** Options of a delete. */
export interface DeleteOptions {
  /** Return the deleted key-values, as `prevKvs`. */
  prevKv?: boolean;
}

const SORT_TARGET: Record<SortTarget, RangeRequest_SortTarget> = {
  key: RangeRequest_SortTarget.KEY,
  version: RangeRequest_SortTarget.VERSION,
  create: RangeRequest_SortTarget.CREATE,
  mod: RangeRequest_SortTarget.MOD,
  value: RangeRequest_SortTarget.VALUE,
};
const SORT_ORDER: Record<SortOrder, RangeRequest_SortOrder> = {
  none: RangeRequest_SortOrder.NONE,
  ascend: RangeRequest_SortOrder.ASCEND,
  descend: RangeRequest_SortOrder.DESCEND,
};

const big = (v: bigint | number | undefined): bigint => (v === undefined ? 0n : BigInt(v));

export function leaseId(l: PutOptions['lease']): bigint {
  if (l === undefined) return 0n;
  return typeof l === 'bigint' ? l : l.id;
}

export function rangeRequest(ks: Keyspace, r: KeyRange, o: RangeOptions = {}): RangeRequest {
  const { key, rangeEnd } = ks.range(r);
  let sortTarget = RangeRequest_SortTarget.KEY;
  let sortOrder = RangeRequest_SortOrder.NONE;
  if (o.sort) {
    sortTarget = SORT_TARGET[o.sort.target ?? 'key'];
    sortOrder = SORT_ORDER[o.sort.order ?? 'ascend'];
    if (sortTarget === undefined || sortOrder === undefined) {
      throw new TypeError(`invalid sort option: ${JSON.stringify(o.sort)}`);
    }
  }
  return {
    key,
    // Absent for one key: a present-but-empty range_end reads to the end of the keyspace on
    // etcd (its decoder keeps the field's presence).
    rangeEnd: rangeEnd.length === 0 ? undefined : rangeEnd,
    limit: big(o.limit),
    revision: big(o.revision),
    sortOrder,
    sortTarget,
    serializable: o.serializable ?? false,
    keysOnly: o.keysOnly ?? false,
    countOnly: o.countOnly ?? false,
    minModRevision: big(o.minModRevision),
    maxModRevision: big(o.maxModRevision),
    minCreateRevision: big(o.minCreateRevision),
    maxCreateRevision: big(o.maxCreateRevision),
  };
}

export function putRequest(ks: Keyspace, key: Key, value: Value, o: PutOptions = {}): PutRequest {
  return {
    key: ks.key(key),
    value: toBuffer(value),
    lease: leaseId(o.lease),
    prevKv: o.prevKv ?? false,
    ignoreValue: o.ignoreValue ?? false,
    ignoreLease: o.ignoreLease ?? false,
  };
}

export function deleteRequest(ks: Keyspace, r: KeyRange, o: DeleteOptions = {}): DeleteRangeRequest {
  const { key, rangeEnd } = ks.range(r);
  return { key, rangeEnd, prevKv: o.prevKv ?? false };
}

export function header(h: WireHeader | undefined): ResponseHeader {
  return {
    clusterId: h?.clusterId ?? 0n,
    memberId: h?.memberId ?? 0n,
    revision: h?.revision ?? 0n,
    raftTerm: h?.raftTerm ?? 0n,
  };
}

export function keyValue(ks: Keyspace, kv: WireKeyValue): KeyValue {
  return new KeyValue(
    ks.strip(copyBytes(kv.key)),
    copyBytes(kv.value),
    kv.createRevision,
    kv.modRevision,
    kv.version,
    kv.lease,
  );
}

export function rangeResult(ks: Keyspace, r: RangeResponse): RangeResult {
  return {
    header: header(r.header),
    kvs: r.kvs.map((kv) => keyValue(ks, kv)),
    more: r.more,
    count: r.count,
  };
}

export function putResult(ks: Keyspace, r: PutResponse): PutResult {
  return { header: header(r.header), prevKv: r.prevKv ? keyValue(ks, r.prevKv) : undefined };
}

export function deleteResult(ks: Keyspace, r: DeleteRangeResponse): DeleteResult {
  return { header: header(r.header), deleted: r.deleted, prevKvs: r.prevKvs.map((kv) => keyValue(ks, kv)) };
}
