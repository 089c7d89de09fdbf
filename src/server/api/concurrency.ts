/**
 * What the Lock and Election services share: etcd's client concurrency package (session, mutex,
 * election keys, waitDeletes) rebuilt on this member's own state machine, and the errors etcd's
 * v3lock / v3election servers answer with.
 *
 * etcd runs those servers on an in-process client whose errors reach the caller as plain Go
 * errors: every failure of these services, a KV error like "etcdserver: requested lease not
 * found" included, arrives with gRPC code UNKNOWN and etcd's message (jetcd matches the
 * messages). `asConcurrencyError` reproduces that.
 */
import { ServerError, Status } from 'nice-grpc-common';
import {
  Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  type DeepPartial,
  RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type ResponseHeader,
  TxnRequest,
  type TxnResponse,
} from '../../gen/etcdserverpb/rpc.js';
import { Event_EventType, type KeyValue } from '../../gen/mvccpb/kv.js';
import { MvccError } from '../../mvcc/index.js';
import type { Node } from '../bootstrap/node.js';
import { ServerRequestError } from '../errors.js';
import { LocalWatch } from './local-watch.js';

/** TTL of the lease granted for a call that names none (concurrency's defaultSessionTTL). */
export const DEFAULT_SESSION_TTL_S = 60;

export const ERR_ELECTION_NOT_LEADER = 'election: not leader';
export const ERR_ELECTION_NO_LEADER = 'election: no leader';
export const ERR_MISSING_LEADER_KEY = '"leader" field must be provided';
export const ERR_SESSION_EXPIRED = 'mutex: session is expired';

export class ConcurrencyError extends ServerRequestError {
  constructor(message: string) {
    super(message, Status.UNKNOWN, 'concurrency');
  }
}

/** Any known error as etcd's lock/election servers answer it: its message, code UNKNOWN. */
export function asConcurrencyError(err: unknown): unknown {
  if (err instanceof ServerError && err.code !== Status.CANCELLED) return new ConcurrencyError(err.details);
  if (err instanceof MvccError || err instanceof ServerRequestError) {
    if (err.grpcCode === Status.CANCELLED) return err;
    return err instanceof ConcurrencyError ? err : new ConcurrencyError(err.message);
  }
  return err;
}

/** Runs a handler body, answering its errors as etcd's concurrency servers do. */
export async function concurrencyCall<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw asConcurrencyError(err);
  }
}

/** etcd's clientv3.GetPrefixRangeEnd: the first key after every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * What etcd's lock and election servers get by running their client calls with the caller's
 * token: when auth is on, the caller needs read (and, for `write`, write) permission on the
 * keys the call touches — a prefix's range, or one key when `prefix` is false.
 */
export async function checkConcurrencyAuth(
  node: Node,
  metadata: Parameters<Node['auth']['infoOf']>[0],
  key: Buffer,
  opts: { prefix: boolean; write: boolean },
): Promise<void> {
  if (!node.auth.enabled) return;
  const who = await node.auth.infoOf(metadata);
  const k = key.toString('latin1');
  const end = opts.prefix ? prefixEnd(key).toString('latin1') : '';
  node.sm.auth.isRangePermitted(who, k, end);
  if (opts.write) node.sm.auth.isDeleteRangePermitted(who, k, end);
}

/** The key a session holds under a prefix: `<prefix><lease id in lowercase hex>` (Go's %x). */
export function sessionKey(prefix: Buffer, lease: bigint): Buffer {
  return Buffer.concat([prefix, Buffer.from(lease.toString(16))]);
}

/**
 * The lease of a session (concurrency.NewSession): the caller's, or a new one with the default
 * TTL when it names none. Like etcd's, nothing keeps a granted lease alive: the server orphans
 * the session, so the caller owns the lease it finds in the key.
 */
export async function sessionLease(node: Node, lease: bigint, signal: AbortSignal): Promise<bigint> {
  if (lease !== 0n) return lease;
  const req = { leaseGrant: { TTL: BigInt(DEFAULT_SESSION_TTL_S), ID: 0n } };
  await node.checkQuota(req, signal);
  const resp = await node.proposer.propose(req, signal);
  return resp.ID;
}

export function createRevisionIs(key: Buffer, rev: bigint): Compare {
  return Compare.fromPartial({
    key,
    target: Compare_CompareTarget.CREATE,
    result: Compare_CompareResult.EQUAL,
    createRevision: rev,
  });
}

/** A write through Raft as a txn, with the quota check the KV service makes. */
export async function proposeTxn(
  node: Node,
  txn: DeepPartial<TxnRequest>,
  signal: AbortSignal,
): Promise<TxnResponse> {
  const req = { txn: TxnRequest.fromPartial(txn) };
  node.sm.validate(req);
  await node.checkQuota(req, signal);
  const resp = await node.proposer.propose(req, signal);
  node.header(resp.header);
  return resp;
}

/**
 * A session's place in the queue under `prefix` (etcd's Mutex.Lock and Election.Campaign): its
 * key, created with `value` unless the session holds it already — then the txn fails and reads
 * the key, so the same session asking again keeps its place.
 */
export async function joinQueue(
  node: Node,
  metadata: Parameters<Node['auth']['infoOf']>[0],
  prefix: Buffer,
  session: { lease: bigint; value: Buffer },
  signal: AbortSignal,
): Promise<{ lease: bigint; key: Buffer; resp: TxnResponse }> {
  await checkConcurrencyAuth(node, metadata, prefix, { prefix: true, write: true });
  const lease = await sessionLease(node, session.lease, signal);
  const key = sessionKey(prefix, lease);
  const resp = await proposeTxn(
    node,
    {
      compare: [createRevisionIs(key, 0n)],
      success: [{ requestPut: { key, value: session.value, lease } }],
      failure: [{ requestRange: { key } }],
    },
    signal,
  );
  return { lease, key, resp };
}

/** Deletes `key` if it is still the one created at `rev` (Resign; the cleanup of a given-up wait). */
export function deleteIfCreatedAt(
  node: Node,
  key: Buffer,
  rev: bigint,
  signal: AbortSignal,
): Promise<TxnResponse> {
  return proposeTxn(
    node,
    { compare: [createRevisionIs(key, rev)], success: [{ requestDeleteRange: { key } }] },
    signal,
  );
}

/** One key of the local state machine, or undefined. */
export function localGet(node: Node, key: Buffer): KeyValue | undefined {
  return node.sm.range(RangeRequest.fromPartial({ key })).kvs[0];
}

/**
 * The oldest (lowest create revision) key under `prefix`, as a local read: clientv3's
 * WithFirstCreate. Callers that promise linearizability await readIndex first.
 */
export function firstCreated(
  node: Node,
  prefix: Buffer,
): { kv: KeyValue | undefined; header: ResponseHeader } {
  const resp = node.sm.range(
    RangeRequest.fromPartial({
      key: prefix,
      rangeEnd: prefixEnd(prefix),
      sortTarget: RangeRequest_SortTarget.CREATE,
      sortOrder: RangeRequest_SortOrder.ASCEND,
      limit: 1n,
    }),
  );
  return { kv: resp.kvs[0], header: node.header(resp.header) };
}

/** The newest key under `prefix` created before `rev`: the one to wait for. */
function predecessor(node: Node, prefix: Buffer, rev: bigint): KeyValue | undefined {
  return node.sm.range(
    RangeRequest.fromPartial({
      key: prefix,
      rangeEnd: prefixEnd(prefix),
      sortTarget: RangeRequest_SortTarget.CREATE,
      sortOrder: RangeRequest_SortOrder.DESCEND,
      maxCreateRevision: rev - 1n,
      limit: 1n,
    }),
  ).kvs[0];
}

export type WaitResult =
  /** No older key is left: `key` is the oldest. `waited` says whether anything had to go first. */
  | { held: true; waited: boolean; header: ResponseHeader }
  /** `key` itself was deleted (its lease expired or was revoked) before its turn came. */
  | { held: false };

/**
 * Waits until `key`, created at `rev`, is the oldest key under `prefix` (concurrency's
 * waitDeletes): each round watches only the newest older key, so a release wakes one waiter,
 * not all of them. Unlike etcd's (which notices only when its turn comes), it also watches the
 * waiter's own key and returns at once when that is deleted.
 *
 * The reads are local: the caller's write of `key` is applied here already, no older key can
 * appear after it, and a delete not applied yet arrives through the watch.
 */
export async function waitOldest(
  node: Node,
  prefix: Buffer,
  key: Buffer,
  rev: bigint,
  signal: AbortSignal,
): Promise<WaitResult> {
  let waited = false;
  for (;;) {
    const own = localGet(node, key);
    if (own === undefined || own.createRevision !== rev) return { held: false };
    const pred = predecessor(node, prefix, rev);
    if (pred === undefined) return { held: true, waited, header: node.header(undefined, node.sm.revision) };
    waited = true;
    const watch = new LocalWatch(node, [{ key: pred.key }, { key }]);
    try {
      for (let gone = false; !gone; ) {
        const resp = await watch.next(signal);
        gone = resp.events.some((ev) => ev.type === Event_EventType.DELETE);
      }
    } finally {
      watch.close();
    }
  }
}
