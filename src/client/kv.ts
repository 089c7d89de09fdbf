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
import { type Key, toBuffer, type Value } from './bytes.js';
import type { KeyRange, Keyspace } from './keyspace.js';

/** Every response carries the cluster and member that answered, the store revision and raft term. */
export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  /** The store's revision when the request was served. */
  revision: bigint;
  raftTerm: bigint;
}

export class KeyValue {
  constructor(
    readonly key: Buffer,
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
    return this.value.toString('utf8');
  }

  /** The value parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.value.toString('utf8')) as T;
  }

  /** The key as UTF-8 text. */
  keyText(): string {
    return this.key.toString('utf8');
  }
}

export interface RangeResult {
  header: ResponseHeader;
  kvs: KeyValue[];
  /** More keys matched than `limit` let through. */
  more: boolean;
  /**
   * How many keys are in the range, as etcd counts them: before `limit` and before the
   * min/max mod/create revision filters are applied.
   */
  count: bigint;
}

export interface PutResult {
  header: ResponseHeader;
  /** The previous key-value, when `prevKv` was asked for and the key existed. */
  prevKv: KeyValue | undefined;
}

export interface DeleteResult {
  header: ResponseHeader;
  deleted: bigint;
  prevKvs: KeyValue[];
}

export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
export type SortOrder = 'none' | 'ascend' | 'descend';

export interface RangeOptions {
  limit?: number | bigint;
  sort?: { target?: SortTarget; order?: SortOrder };
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Read the store as of this revision (a historical read). */
  revision?: bigint | number;
  /** Serve from the local member without a quorum round (may be stale). */
  serializable?: boolean;
  minModRevision?: bigint | number;
  maxModRevision?: bigint | number;
  minCreateRevision?: bigint | number;
  maxCreateRevision?: bigint | number;
}

export interface PutOptions {
  /** Attach the key to this lease (an ID or anything with an `id`, such as a Lease). */
  lease?: bigint | { readonly id: bigint };
  prevKv?: boolean;
  /** Keep the current value; only the lease changes. */
  ignoreValue?: boolean;
  /** Keep the current lease; only the value changes. */
  ignoreLease?: boolean;
}

export interface DeleteOptions {
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
    rangeEnd,
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
    ks.strip(Buffer.from(kv.key)),
    Buffer.from(kv.value),
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
