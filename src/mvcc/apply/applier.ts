/**
 * The applier interface (etcd's applierV3): one method per kind of request the state machine
 * applies, with its request and response. The chain (chain.ts) is a row of appliers, each
 * checking what it is for and handing the request to the next, the backend last.
 */
import type {
  AlarmRequest,
  AlarmResponse,
  AuthDisableRequest,
  AuthDisableResponse,
  AuthEnableRequest,
  AuthEnableResponse,
  AuthenticateResponse,
  AuthRoleAddRequest,
  AuthRoleAddResponse,
  AuthRoleDeleteRequest,
  AuthRoleDeleteResponse,
  AuthRoleGrantPermissionRequest,
  AuthRoleGrantPermissionResponse,
  AuthRoleRevokePermissionRequest,
  AuthRoleRevokePermissionResponse,
  AuthUserAddRequest,
  AuthUserAddResponse,
  AuthUserChangePasswordRequest,
  AuthUserChangePasswordResponse,
  AuthUserDeleteRequest,
  AuthUserDeleteResponse,
  AuthUserGrantRoleRequest,
  AuthUserGrantRoleResponse,
  AuthUserRevokeRoleRequest,
  AuthUserRevokeRoleResponse,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseCheckpointRequest,
  LeaseCheckpointResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from '../../gen/etcdserverpb/rpc.js';
import type { Alarms } from '../alarms.js';
import type { AuthInfo, AuthStore } from '../auth/auth-store.js';
import type { KvStore } from '../kv/kv-store.js';
import type { WatchHub } from '../kv/watch-hub.js';
import type { Lessor } from '../lease/lessor.js';
import type { Quota } from '../quota.js';

export interface ApplyContext {
  /** Caller's clock in ms; used only for lease expiry bookkeeping on the primary. */
  nowMs?: number;
  /**
   * Who proposed a client request (etcd's request header username + auth revision), checked
   * against the auth store when auth is on. Absent for the server's own requests (lease expiry,
   * auto-compaction), which etcd runs as root.
   */
  auth?: AuthInfo;
}

/**
 * etcd's InternalAuthenticateRequest: the password was checked by the member that received the
 * call and never enters the log; the token it drew does, so every member knows it.
 */
export interface InternalAuthenticateRequest {
  name: string;
  simpleToken: string;
}

/** What the state machine applies, one method per kind (etcd's InternalRaftRequest fields). */
export interface Applier {
  range(r: RangeRequest, ctx: ApplyContext): RangeResponse;
  put(r: PutRequest, ctx: ApplyContext): PutResponse;
  deleteRange(r: DeleteRangeRequest, ctx: ApplyContext): DeleteRangeResponse;
  txn(r: TxnRequest, ctx: ApplyContext): TxnResponse;
  compaction(r: CompactionRequest, ctx: ApplyContext): CompactionResponse;
  leaseGrant(r: LeaseGrantRequest, ctx: ApplyContext): LeaseGrantResponse;
  leaseRevoke(r: LeaseRevokeRequest, ctx: ApplyContext): LeaseRevokeResponse;
  leaseCheckpoint(r: LeaseCheckpointRequest, ctx: ApplyContext): LeaseCheckpointResponse;
  alarm(r: AlarmRequest, ctx: ApplyContext): AlarmResponse;
  authEnable(r: AuthEnableRequest, ctx: ApplyContext): AuthEnableResponse;
  authDisable(r: AuthDisableRequest, ctx: ApplyContext): AuthDisableResponse;
  authenticate(r: InternalAuthenticateRequest, ctx: ApplyContext): AuthenticateResponse;
  authUserAdd(r: AuthUserAddRequest, ctx: ApplyContext): AuthUserAddResponse;
  authUserDelete(r: AuthUserDeleteRequest, ctx: ApplyContext): AuthUserDeleteResponse;
  authUserChangePassword(r: AuthUserChangePasswordRequest, ctx: ApplyContext): AuthUserChangePasswordResponse;
  authUserGrantRole(r: AuthUserGrantRoleRequest, ctx: ApplyContext): AuthUserGrantRoleResponse;
  authUserRevokeRole(r: AuthUserRevokeRoleRequest, ctx: ApplyContext): AuthUserRevokeRoleResponse;
  authRoleAdd(r: AuthRoleAddRequest, ctx: ApplyContext): AuthRoleAddResponse;
  authRoleDelete(r: AuthRoleDeleteRequest, ctx: ApplyContext): AuthRoleDeleteResponse;
  authRoleGrantPermission(
    r: AuthRoleGrantPermissionRequest,
    ctx: ApplyContext,
  ): AuthRoleGrantPermissionResponse;
  authRoleRevokePermission(
    r: AuthRoleRevokePermissionRequest,
    ctx: ApplyContext,
  ): AuthRoleRevokePermissionResponse;
}

export type Kind = keyof Applier;
/** Requests that go through Raft, by kind. */
export type Requests = { [K in Kind]: Parameters<Applier[K]>[0] };
export type Responses = { [K in Kind]: ReturnType<Applier[K]> };
/** The auth requests (all writes; only Authenticate needs no admin). */
export type AuthKind = Extract<Kind, `auth${string}`>;
/** One request: an object with exactly one of the kinds set. */
export type MvccRequest = { [K in Kind]: { [P in K]: Requests[P] } }[Kind];
/** The response type for a request type. */
export type ResponseOf<R> = { [K in Kind]: R extends Record<K, unknown> ? Responses[K] : never }[Kind];

/** Every kind; `satisfies` keeps the list complete. */
export const KINDS = Object.keys({
  range: 0,
  put: 0,
  deleteRange: 0,
  txn: 0,
  compaction: 0,
  leaseGrant: 0,
  leaseRevoke: 0,
  leaseCheckpoint: 0,
  alarm: 0,
  authEnable: 0,
  authDisable: 0,
  authenticate: 0,
  authUserAdd: 0,
  authUserDelete: 0,
  authUserChangePassword: 0,
  authUserGrantRole: 0,
  authUserRevokeRole: 0,
  authRoleAdd: 0,
  authRoleDelete: 0,
  authRoleGrantPermission: 0,
  authRoleRevokePermission: 0,
} satisfies Record<Kind, 0>) as Kind[];

/** The state the appliers work on: the StateMachine's parts. */
export interface StateParts {
  readonly kv: KvStore;
  readonly lessor: Lessor;
  readonly alarms: Alarms;
  readonly auth: AuthStore;
  readonly watches: WatchHub;
  readonly quota: Quota;
  readonly maxTxnOps: number;
}
