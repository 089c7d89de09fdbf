/**
 * The applier: what the server's apply loop calls with each committed entry, and what serves
 * reads. It owns the keyspace, the lessor, the alarms and the watch hub, and records the last
 * applied Raft index with them so that replaying entries after a restart or a snapshot is a
 * no-op. Pure and deterministic: no I/O, no clock — the caller passes time where a leader
 * needs it (lease expiry), and it never influences the replicated state.
 *
 * Like etcd, cross-cutting rules wrap the core applier as decorators: the quota/alarm check
 * (QuotaApplier) sits in front of the backend applier.
 *
 * The host (the server) contract:
 *  1. Before proposing a request: `validate(req)` and `checkQuota(req)`; on NoSpaceError,
 *     propose an AlarmRequest ACTIVATE NOSPACE and answer the client with the error.
 *  2. For each committed entry, in order: `apply(index, req, { nowMs })`. It returns the
 *     response (header.revision filled; cluster, member and raft term are the host's) or
 *     throws an MvccError whose `grpcCode` and `message` are etcd's status for the client.
 *  3. After each apply pass: `watches.sync()` (repeatedly, as the event loop allows) so that
 *     watchers created in the past or behind a slow stream catch up; `created` and `canceled`
 *     responses for client requests are the host's to send.
 *  4. Leases: `lessor.promote(now)` on becoming leader, `demote()` on losing it; periodically
 *     propose LeaseRevoke for `lessor.expired(now)` and LeaseCheckpoint for
 *     `lessor.checkpointsDue(now)`; keepalives are `lessor.renew(id, now)` (propose a zero
 *     checkpoint when it says clearCheckpoint).
 *  5. Progress: `watches.progressNotify()` on the progress interval; a client's progress
 *     request is answered (watch id -1, current revision) when `watches.allSynced(...)`.
 *  6. Snapshots: `snapshot(sm)` streams the state with `appliedIndex`; `restore(chunks)`
 *     rebuilds it; entries at or below the restored applied index are then skipped.
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
  HashKVResponse,
  LeaseCheckpointRequest,
  LeaseCheckpointResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from '../gen/etcdserverpb/rpc.js';
import { AlarmType } from '../gen/etcdserverpb/rpc.js';
import { Alarms } from './alarms.js';
import { checkDeleteAuth, checkLeasePuts, checkPutAuth, checkTxnAuth } from './auth/auth-check.js';
import { type AuthInfo, AuthStore } from './auth/auth-store.js';
import { buf, header, num } from './convert.js';
import { CompactedError, FutureRevisionError, NoSpaceError } from './errors.js';
import { hashKV } from './kv/hash.js';
import { KvStore } from './kv/kv-store.js';
import { applyRange, checkRangeRequest } from './kv/range.js';
import {
  applyTxnOps,
  checkTxnPath,
  compareToPath,
  DEFAULT_MAX_TXN_OPS,
  isTxnReadOnly,
  validateTxn,
} from './kv/txn.js';
import { WatchHub, type WatchHubOptions } from './kv/watch-hub.js';
import {
  applyDeleteRange,
  applyPut,
  checkDeleteRequest,
  checkPutRequest,
  checkPutState,
} from './kv/write-ops.js';
import { Lessor } from './lease/lessor.js';
import { Quota, requestCost } from './quota.js';

/** Requests that go through Raft, by kind (etcd's InternalRaftRequest fields). */
export interface Requests {
  range: RangeRequest;
  put: PutRequest;
  deleteRange: DeleteRangeRequest;
  txn: TxnRequest;
  compaction: CompactionRequest;
  leaseGrant: LeaseGrantRequest;
  leaseRevoke: LeaseRevokeRequest;
  leaseCheckpoint: LeaseCheckpointRequest;
  alarm: AlarmRequest;
  authEnable: AuthEnableRequest;
  authDisable: AuthDisableRequest;
  authenticate: InternalAuthenticateRequest;
  authUserAdd: AuthUserAddRequest;
  authUserDelete: AuthUserDeleteRequest;
  authUserChangePassword: AuthUserChangePasswordRequest;
  authUserGrantRole: AuthUserGrantRoleRequest;
  authUserRevokeRole: AuthUserRevokeRoleRequest;
  authRoleAdd: AuthRoleAddRequest;
  authRoleDelete: AuthRoleDeleteRequest;
  authRoleGrantPermission: AuthRoleGrantPermissionRequest;
  authRoleRevokePermission: AuthRoleRevokePermissionRequest;
}
/**
 * etcd's InternalAuthenticateRequest: the password was checked by the member that received the
 * call and never enters the log; the token it drew does, so every member knows it.
 */
export interface InternalAuthenticateRequest {
  name: string;
  simpleToken: string;
}
export interface Responses {
  range: RangeResponse;
  put: PutResponse;
  deleteRange: DeleteRangeResponse;
  txn: TxnResponse;
  compaction: CompactionResponse;
  leaseGrant: LeaseGrantResponse;
  leaseRevoke: LeaseRevokeResponse;
  leaseCheckpoint: LeaseCheckpointResponse;
  alarm: AlarmResponse;
  authEnable: AuthEnableResponse;
  authDisable: AuthDisableResponse;
  authenticate: AuthenticateResponse;
  authUserAdd: AuthUserAddResponse;
  authUserDelete: AuthUserDeleteResponse;
  authUserChangePassword: AuthUserChangePasswordResponse;
  authUserGrantRole: AuthUserGrantRoleResponse;
  authUserRevokeRole: AuthUserRevokeRoleResponse;
  authRoleAdd: AuthRoleAddResponse;
  authRoleDelete: AuthRoleDeleteResponse;
  authRoleGrantPermission: AuthRoleGrantPermissionResponse;
  authRoleRevokePermission: AuthRoleRevokePermissionResponse;
}
/** The auth requests (all writes; only Authenticate needs no admin). */
export type AuthKind = Extract<Kind, `auth${string}`>;
export type Kind = keyof Requests;
/** One request: an object with exactly one of the kinds set. */
export type MvccRequest = { [K in Kind]: { [P in K]: Requests[P] } }[Kind];
/** The response type for a request type. */
export type ResponseOf<R> = { [K in Kind]: R extends Record<K, unknown> ? Responses[K] : never }[Kind];

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

/** The operations an applier performs; decorators wrap one another. */
export interface Applier {
  range(r: RangeRequest): RangeResponse;
  put(r: PutRequest): PutResponse;
  deleteRange(r: DeleteRangeRequest): DeleteRangeResponse;
  txn(r: TxnRequest): TxnResponse;
  compaction(r: CompactionRequest): CompactionResponse;
  leaseGrant(r: LeaseGrantRequest, nowMs: number | undefined): LeaseGrantResponse;
  leaseRevoke(r: LeaseRevokeRequest): LeaseRevokeResponse;
  leaseCheckpoint(r: LeaseCheckpointRequest): LeaseCheckpointResponse;
  alarm(r: AlarmRequest): AlarmResponse;
}

export interface StateMachineOptions extends WatchHubOptions {
  /** --quota-backend-bytes (default 2 GiB). */
  quotaBytes?: number;
  /** --max-txn-ops (default 128). */
  maxTxnOps?: number;
  /** Minimum lease TTL in seconds (default 2). */
  minLeaseTtlSeconds?: number;
}

export class StateMachine {
  readonly kv = new KvStore();
  readonly lessor: Lessor;
  readonly alarms = new Alarms();
  readonly auth = new AuthStore();
  readonly watches: WatchHub;
  readonly quota: Quota;
  readonly maxTxnOps: number;
  /** Raft index of the last applied entry; stored with the state (snapshots carry it). */
  appliedIndex = 0;
  readonly #applier: Applier;
  /** The credentials of the entry being applied (read by the AuthApplier). */
  #authInfo: AuthInfo | undefined;
  #checkAuth = false;

  constructor(readonly options: StateMachineOptions = {}) {
    this.lessor = new Lessor({ minTtlSeconds: options.minLeaseTtlSeconds });
    this.kv.leases = this.lessor;
    this.watches = new WatchHub(this.kv, options);
    this.quota = new Quota(options.quotaBytes);
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
    this.#applier = new AuthApplier(new QuotaApplier(new BackendApplier(this), this), this);
  }

  get revision(): number {
    return this.kv.currentRev;
  }

  get compactRevision(): number {
    return this.kv.compactRev;
  }

  /**
   * Applies committed entry `index`. Entries at or below the applied index were applied
   * before (a replay): they are skipped and undefined is returned. A request that fails
   * throws an MvccError — deterministically, on every member — and still counts as applied.
   */
  apply<R extends MvccRequest>(index: number, req: R, ctx: ApplyContext = {}): ResponseOf<R> | undefined {
    if (index <= this.appliedIndex) return undefined;
    this.appliedIndex = index;
    return this.execute(req, ctx);
  }

  /** Runs a request without touching the applied index (reads, tests, single-node use). */
  execute<R extends MvccRequest>(req: R, ctx: ApplyContext = {}): ResponseOf<R> {
    this.#checkAuth = ctx.auth !== undefined;
    this.#authInfo = ctx.auth;
    try {
      return this.#execute(req, ctx);
    } finally {
      this.#checkAuth = false;
      this.#authInfo = undefined;
    }
  }

  /** Credentials to check for the entry being applied; `checked` false for the server's own. */
  get applying(): { checked: boolean; info: AuthInfo | undefined } {
    return { checked: this.#checkAuth, info: this.#authInfo };
  }

  #execute<R extends MvccRequest>(req: R, ctx: ApplyContext): ResponseOf<R> {
    const a = this.#applier;
    const r = req as Partial<Requests>;
    for (const k in r) if (k.startsWith('auth')) return applyAuth(this, r, ctx.auth) as ResponseOf<R>;
    let out: unknown;
    if (r.put) out = a.put(r.put);
    else if (r.range) out = a.range(r.range);
    else if (r.deleteRange) out = a.deleteRange(r.deleteRange);
    else if (r.txn) out = a.txn(r.txn);
    else if (r.compaction) out = a.compaction(r.compaction);
    else if (r.leaseGrant) out = a.leaseGrant(r.leaseGrant, ctx.nowMs);
    else if (r.leaseRevoke) out = a.leaseRevoke(r.leaseRevoke);
    else if (r.leaseCheckpoint) out = a.leaseCheckpoint(r.leaseCheckpoint);
    else if (r.alarm) out = a.alarm(r.alarm);
    else throw new TypeError('mvcc: empty request');
    return out as ResponseOf<R>;
  }

  // Convenience entry points (same as execute with one kind).
  range(r: RangeRequest): RangeResponse {
    return this.#applier.range(r);
  }
  put(r: PutRequest): PutResponse {
    return this.#applier.put(r);
  }
  deleteRange(r: DeleteRangeRequest): DeleteRangeResponse {
    return this.#applier.deleteRange(r);
  }
  txn(r: TxnRequest): TxnResponse {
    return this.#applier.txn(r);
  }
  compact(r: CompactionRequest): CompactionResponse {
    return this.#applier.compaction(r);
  }
  leaseGrant(r: LeaseGrantRequest, nowMs?: number): LeaseGrantResponse {
    return this.#applier.leaseGrant(r, nowMs);
  }
  leaseRevoke(r: LeaseRevokeRequest): LeaseRevokeResponse {
    return this.#applier.leaseRevoke(r);
  }

  /**
   * Becomes `other` (restored from a snapshot the leader sent) while keeping this object, its
   * lessor and its watch hub: the services hold references to them, and watchers stay
   * registered and replay what they missed from the new history.
   */
  adopt(other: StateMachine): void {
    const kv = this.kv;
    const seen = kv.currentRev;
    kv.index = other.kv.index;
    kv.currentRev = other.kv.currentRev;
    kv.compactRev = other.kv.compactRev;
    kv.log = other.kv.log;
    kv.sizeBytes = other.kv.sizeBytes;
    this.lessor.leases.clear();
    for (const [id, l] of other.lessor.leases) this.lessor.leases.set(id, l);
    this.lessor.idSeq = other.lessor.idSeq;
    this.alarms.replaceWith(other.alarms);
    this.auth.load(other.auth.toJSON());
    this.appliedIndex = other.appliedIndex;
    this.watches.unsyncAll(seen + 1);
  }

  /** Request checks that need no state (the server runs them before proposing). */
  validate(req: MvccRequest): void {
    const r = req as Partial<Requests>;
    if (r.put) checkPutRequest(r.put);
    else if (r.range) checkRangeRequest(r.range);
    else if (r.deleteRange) checkDeleteRequest(r.deleteRange);
    else if (r.txn) validateTxn(r.txn, this.maxTxnOps);
  }

  /** The quota check the server runs before proposing (etcd's quotaKVServer). */
  checkQuota(req: MvccRequest): void {
    const cost = requestCost(req);
    if (cost > 0 && (this.alarms.has(AlarmType.NOSPACE) || !this.quota.available(this.kv.sizeBytes, cost))) {
      throw new NoSpaceError();
    }
  }

  hashKV(revision = 0): HashKVResponse {
    return hashKV(this.kv, revision);
  }

  /** Leader-side: a lease's remaining TTL and (optionally) its keys. */
  leaseTimeToLive(r: LeaseTimeToLiveRequest, nowMs: number): LeaseTimeToLiveResponse {
    const l = this.lessor.get(r.ID);
    if (!l) return { header: header(this.kv.currentRev), ID: r.ID, TTL: -1n, grantedTTL: 0n, keys: [] };
    const keys = r.keys ? [...l.keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(buf) : [];
    return {
      header: header(this.kv.currentRev),
      ID: r.ID,
      TTL: BigInt(this.lessor.timeToLive(r.ID, nowMs)),
      grantedTTL: BigInt(l.ttl),
      keys,
    };
  }

  leaseLeases(): LeaseLeasesResponse {
    const ids = [...this.lessor.leases.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { header: header(this.kv.currentRev), leases: ids.map((ID) => ({ ID })) };
  }
}

/** The core applier: the keyspace, leases and alarms, with etcd's semantics. */
class BackendApplier implements Applier {
  constructor(readonly sm: StateMachine) {}

  range(r: RangeRequest): RangeResponse {
    checkRangeRequest(r);
    return applyRange(this.sm.kv, r);
  }

  put(r: PutRequest): PutResponse {
    const { kv, lessor, watches } = this.sm;
    checkPutRequest(r);
    checkPutState(kv, lessor, r, false);
    const w = kv.beginWrite();
    const resp = applyPut(w, kv, r);
    w.end();
    watches.notify(w.changes);
    return resp;
  }

  deleteRange(r: DeleteRangeRequest): DeleteRangeResponse {
    const { kv, watches } = this.sm;
    checkDeleteRequest(r);
    const w = kv.beginWrite();
    const resp = applyDeleteRange(w, r);
    w.end();
    watches.notify(w.changes);
    return resp;
  }

  txn(r: TxnRequest): TxnResponse {
    const { kv, lessor, watches } = this.sm;
    validateTxn(r, this.sm.maxTxnOps);
    const write = !isTxnReadOnly(r);
    const path = compareToPath(kv, r);
    checkTxnPath(kv, lessor, r, path, write);
    if (!write) return applyTxnOps(undefined, kv, r, path);
    const w = kv.beginWrite();
    const resp = applyTxnOps(w, kv, r, path);
    watches.notify(w.changes);
    return resp;
  }

  compaction(r: CompactionRequest): CompactionResponse {
    const kv = this.sm.kv;
    const rev = num(r.revision);
    if (rev <= kv.compactRev) throw new CompactedError();
    if (rev > kv.currentRev) throw new FutureRevisionError();
    kv.compact(rev);
    return { header: header(kv.currentRev) };
  }

  leaseGrant(r: LeaseGrantRequest, nowMs: number | undefined): LeaseGrantResponse {
    const l = this.sm.lessor.grant(r.ID, num(r.TTL), nowMs);
    return { header: header(this.sm.kv.currentRev), ID: l.id, TTL: BigInt(l.ttl), error: '' };
  }

  leaseRevoke(r: LeaseRevokeRequest): LeaseRevokeResponse {
    const { kv, lessor, watches } = this.sm;
    const keys = lessor.revoke(r.ID);
    // All attached keys go in one revision, in key order (the same on every member).
    const w = kv.beginWrite();
    for (const key of keys) w.deleteRange(key, undefined);
    w.end();
    watches.notify(w.changes);
    return { header: header(kv.currentRev) };
  }

  leaseCheckpoint(r: LeaseCheckpointRequest): LeaseCheckpointResponse {
    for (const cp of r.checkpoints) this.sm.lessor.checkpoint(cp.ID, num(cp.remainingTTL));
    return { header: header(this.sm.kv.currentRev) };
  }

  alarm(r: AlarmRequest): AlarmResponse {
    return this.sm.alarms.apply(r, this.sm.kv.currentRev);
  }
}

/**
 * NOSPACE rules in front of the core (etcd's quotaApplierV3 + applierV3Capped): while the
 * alarm is active, requests that cost space are refused; a request that would exceed the quota
 * is refused and raises the alarm (member 0: raised by the state machine itself, the same on
 * every member). etcd applies such a write and then reports the error; refusing it instead
 * keeps the quota a hard bound.
 */
class QuotaApplier implements Applier {
  constructor(
    readonly next: Applier,
    readonly sm: StateMachine,
  ) {}

  #check(req: MvccRequest): void {
    const cost = requestCost(req);
    if (cost === 0) return;
    if (this.sm.alarms.has(AlarmType.NOSPACE)) throw new NoSpaceError();
    if (!this.sm.quota.available(this.sm.kv.sizeBytes, cost)) {
      this.sm.alarms.activate(0n, AlarmType.NOSPACE);
      throw new NoSpaceError();
    }
  }

  range(r: RangeRequest): RangeResponse {
    return this.next.range(r);
  }
  put(r: PutRequest): PutResponse {
    this.#check({ put: r });
    return this.next.put(r);
  }
  deleteRange(r: DeleteRangeRequest): DeleteRangeResponse {
    return this.next.deleteRange(r);
  }
  txn(r: TxnRequest): TxnResponse {
    this.#check({ txn: r });
    return this.next.txn(r);
  }
  compaction(r: CompactionRequest): CompactionResponse {
    return this.next.compaction(r);
  }
  leaseGrant(r: LeaseGrantRequest, nowMs: number | undefined): LeaseGrantResponse {
    this.#check({ leaseGrant: r });
    return this.next.leaseGrant(r, nowMs);
  }
  leaseRevoke(r: LeaseRevokeRequest): LeaseRevokeResponse {
    return this.next.leaseRevoke(r);
  }
  leaseCheckpoint(r: LeaseCheckpointRequest): LeaseCheckpointResponse {
    return this.next.leaseCheckpoint(r);
  }
  alarm(r: AlarmRequest): AlarmResponse {
    return this.next.alarm(r);
  }
}

/**
 * Auth rules in front of the rest (etcd's authApplierV3): a client's write is checked against
 * the permissions of the user who proposed it, at apply, so every member decides alike.
 */
class AuthApplier implements Applier {
  constructor(
    readonly next: Applier,
    readonly sm: StateMachine,
  ) {}

  /** The credentials to check, or undefined when nothing is to be checked. */
  #who(): { info: AuthInfo | undefined } | undefined {
    const a = this.sm.applying;
    return a.checked && this.sm.auth.enabled ? { info: a.info } : undefined;
  }

  range(r: RangeRequest): RangeResponse {
    return this.next.range(r);
  }
  put(r: PutRequest): PutResponse {
    const who = this.#who();
    if (who) checkPutAuth(this.sm.auth, this.sm.lessor, who.info, r);
    return this.next.put(r);
  }
  deleteRange(r: DeleteRangeRequest): DeleteRangeResponse {
    const who = this.#who();
    if (who) checkDeleteAuth(this.sm.auth, who.info, r);
    return this.next.deleteRange(r);
  }
  txn(r: TxnRequest): TxnResponse {
    const who = this.#who();
    if (who) checkTxnAuth(this.sm.auth, this.sm.lessor, who.info, r);
    return this.next.txn(r);
  }
  compaction(r: CompactionRequest): CompactionResponse {
    return this.next.compaction(r);
  }
  leaseGrant(r: LeaseGrantRequest, nowMs: number | undefined): LeaseGrantResponse {
    return this.next.leaseGrant(r, nowMs);
  }
  leaseRevoke(r: LeaseRevokeRequest): LeaseRevokeResponse {
    const who = this.#who();
    if (who) checkLeasePuts(this.sm.auth, this.sm.lessor, who.info, r.ID);
    return this.next.leaseRevoke(r);
  }
  leaseCheckpoint(r: LeaseCheckpointRequest): LeaseCheckpointResponse {
    return this.next.leaseCheckpoint(r);
  }
  alarm(r: AlarmRequest): AlarmResponse {
    return this.next.alarm(r);
  }
}

/**
 * Applies one auth request. Everything but Authenticate needs the root role once auth is on
 * (etcd's needAdminPermission); the server's own requests (no credentials) are not checked.
 */
function applyAuth(sm: StateMachine, r: Partial<Requests>, info: AuthInfo | undefined): unknown {
  const as = sm.auth;
  const h = { header: header(sm.kv.currentRev) };
  if (r.authenticate) {
    const token = as.authenticate(r.authenticate.name, r.authenticate.simpleToken);
    return { header: header(sm.kv.currentRev), token };
  }
  if (info !== undefined) as.isAdminPermitted(info);
  if (r.authEnable) as.enable();
  else if (r.authDisable) as.disable();
  else if (r.authUserAdd) as.userAdd(r.authUserAdd);
  else if (r.authUserDelete) as.userDelete(r.authUserDelete.name);
  else if (r.authUserChangePassword) as.userChangePassword(r.authUserChangePassword);
  else if (r.authUserGrantRole) as.userGrantRole(r.authUserGrantRole);
  else if (r.authUserRevokeRole) as.userRevokeRole(r.authUserRevokeRole);
  else if (r.authRoleAdd) as.roleAdd(r.authRoleAdd.name);
  else if (r.authRoleDelete) as.roleDelete(r.authRoleDelete.role);
  else if (r.authRoleGrantPermission) as.roleGrantPermission(r.authRoleGrantPermission);
  else if (r.authRoleRevokePermission) as.roleRevokePermission(r.authRoleRevokePermission);
  else throw new TypeError('mvcc: unknown auth request');
  return h;
}
