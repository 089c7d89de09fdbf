/**
 * The SDK without a transport of its own choosing: everything `concord` and `concord/fetch`
 * export. Its `Client` speaks the fetch transport; the Node entry point (index.ts) replaces it
 * with one that speaks gRPC by default. Recipes import from here, so they bundle without
 * grpc-js. Nothing here imports a Node module.
 */

export type { Auth, Permission, PermissionType } from './client/auth.js';
export type { Key, Value } from './client/bytes.js';
export type { CallOptions } from './client/call-options.js';
export { Client } from './client/client.js';
export type { Member, MemberListResult } from './client/cluster.js';
export {
  CHANNELS,
  type DiagnosticsLogger,
  type EndpointsSyncMessage,
  type FailoverMessage,
  KEY_PREVIEW_CHARS,
  type KeepaliveLagMessage,
  type LeaseLostMessage,
  type RequestMessage,
  type RetryMessage,
  type TokenRefreshMessage,
  type WatchStateMessage,
} from './client/diagnostics.js';
export { Emitter, type EventMap, type Listener } from './client/emitter.js';
export * from './client/errors.js';
export { FetchTransport, type FetchTransportSettings, fetchTransport } from './client/fetch-transport.js';
export type { KeyRange } from './client/keyspace.js';
export {
  type DeleteOptions,
  type DeleteResult,
  KeyValue,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeResult,
  type ResponseHeader,
  type SortOrder,
  type SortTarget,
} from './client/kv.js';
export { Lease, type LeaseOptions, type LeaseTimeToLive } from './client/lease.js';
export type { Alarm, MemberCallOptions, Status } from './client/maintenance.js';
export { BoundTxn, type GetOptions, Namespace } from './client/namespace.js';
export type { ClientOptions, Pem, TlsOptions } from './client/options.js';
export {
  StmConflictError,
  type StmIsolation,
  type StmOptions,
  type StmPutOptions,
  type StmTx,
} from './client/stm.js';
export type { Transport, TransportFactory, TransportFactorySettings } from './client/transport.js';
export {
  type CompareOp,
  type CompareSpec,
  compare,
  type OpResult,
  type OpSpec,
  op,
  TxnBuilder,
  type TxnResult,
  type TxnSpec,
  txn,
} from './client/txn.js';
export type { WatchEvents, WatchState, WatchStateChange } from './client/watch.js';
export { Watch, type WatchBatch, type WatchEvent, type WatchOptions } from './client/watch.js';
