/**
 * src/mvcc — the replicated state machine: revisioned keyspace, txns, compaction, watch hub,
 * leases, quota and alarms, snapshot and hash. Pure and deterministic; imports no Node I/O.
 */
export * from './alarms.js';
export type {
  Applier,
  ApplyContext,
  AuthKind,
  InternalAuthenticateRequest,
  Kind,
  MvccRequest,
  Requests,
  ResponseOf,
  Responses,
} from './apply/applier.js';
export * from './auth/auth-check.js';
export * from './auth/auth-store.js';
export * from './errors.js';
export { hashKV } from './kv/hash.js';
export { Rev } from './kv/key-index.js';
export { type Change, KvStore, REV_OVERHEAD_BYTES, WriteTxn } from './kv/kv-store.js';
export { DEFAULT_MAX_TXN_OPS, isReadOnlyTxn, validateTxn } from './kv/txn.js';
export {
  WATCH_BATCH_MAX_REVS,
  WATCH_FRAGMENT_BYTES,
  Watcher,
  WatchHub,
  type WatchSink,
  watchResponse,
} from './kv/watch-hub.js';
export { DEFAULT_MIN_LEASE_TTL, Lease, Lessor, MAX_LEASE_TTL } from './lease/lessor.js';
export * from './quota.js';
export {
  checkedSnapshot,
  restore,
  restoreSync,
  SNAPSHOT_CHUNK_BYTES,
  type SnapshotOptions,
  snapshot,
} from './snapshot.js';
export * from './state-machine.js';
