/**
 * Put and DeleteRange inside a write txn, and the checks that must pass before any change is
 * made (etcd's checkPutRequest at the API and checkRequestPut at apply).
 */
import type {
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
} from '../../gen/etcdserverpb/rpc.js';
import { header, str, toKeyValue } from '../convert.js';
import {
  EmptyKeyError,
  KeyNotFoundError,
  LeaseNotFoundError,
  LeaseProvidedError,
  ValueProvidedError,
} from '../errors.js';
import { type KvStore, rangeEndOf, type WriteTxn } from './kv-store.js';

export interface LeaseLookup {
  has(id: bigint): boolean;
}

/** Request-shape rules (no state needed). */
export function checkPutRequest(p: PutRequest): void {
  if (p.key.length === 0) throw new EmptyKeyError();
  if (p.ignoreValue && p.value.length !== 0) throw new ValueProvidedError();
  if (p.ignoreLease && p.lease !== 0n) throw new LeaseProvidedError();
}

export function checkDeleteRequest(d: DeleteRangeRequest): void {
  if (d.key.length === 0) throw new EmptyKeyError();
}

/**
 * State rules, checked against the store before the write begins. Their order is etcd's, which
 * differs: a Put looks up its lease before its key (applierV3backend.Put), a put in a txn its key
 * before its lease (checkRequestPut).
 */
export function checkPutState(store: KvStore, leases: LeaseLookup, p: PutRequest, inTxn = true): void {
  const lease = () => {
    if (p.lease !== 0n && !leases.has(p.lease)) throw new LeaseNotFoundError();
  };
  if (!inTxn) lease();
  if (p.ignoreValue || p.ignoreLease) {
    if (store.get(str(p.key)) === undefined) throw new KeyNotFoundError();
  }
  if (inTxn) lease();
}

export function applyPut(w: WriteTxn, store: KvStore, p: PutRequest): PutResponse {
  const key = str(p.key);
  let value: string;
  let lease = p.lease;
  if (p.ignoreValue || p.ignoreLease) {
    const cur = store.get(key, w.readRev);
    if (cur === undefined) throw new KeyNotFoundError();
    value = p.ignoreValue ? cur.value : str(p.value);
    if (p.ignoreLease) lease = cur.lease;
  } else value = str(p.value);
  const { prev } = w.put(key, value, lease);
  return { header: header(w.rev), prevKv: p.prevKv && prev ? toKeyValue(prev) : undefined };
}

export function applyDeleteRange(w: WriteTxn, d: DeleteRangeRequest): DeleteRangeResponse {
  const changes = w.deleteRange(str(d.key), rangeEndOf(str(d.rangeEnd)));
  return {
    header: header(w.readRev),
    deleted: BigInt(changes.length),
    prevKvs: d.prevKv ? changes.map((c) => toKeyValue(c.prev!)) : [],
  };
}
