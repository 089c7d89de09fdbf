/**
 * etcd's JSON gateway (grpc-gateway) for the unary calls: `POST /v3/kv/range` with the request
 * as JSON, answered with the response as JSON — 64-bit integers as strings, bytes in base64,
 * field names as in the .proto (etcd's gateway marshals with OrigName), zero values left out.
 * The auth token comes in the `Authorization` header, as etcd's gateway passes it on.
 * Errors come back as `{"error", "code", "message"}` with the HTTP status grpc-gateway maps the
 * gRPC code to. The streaming calls (/v3/watch, /v3/lease/keepalive, /v3/election/observe) are
 * not served yet.
 */
import type http from 'node:http';
import { Metadata, Status } from 'nice-grpc-common';
import {
  AlarmRequest,
  AlarmResponse,
  AuthDisableRequest,
  AuthDisableResponse,
  AuthEnableRequest,
  AuthEnableResponse,
  AuthenticateRequest,
  AuthenticateResponse,
  AuthRoleAddRequest,
  AuthRoleAddResponse,
  AuthRoleDeleteRequest,
  AuthRoleDeleteResponse,
  AuthRoleGetRequest,
  AuthRoleGetResponse,
  AuthRoleGrantPermissionRequest,
  AuthRoleGrantPermissionResponse,
  AuthRoleListRequest,
  AuthRoleListResponse,
  AuthRoleRevokePermissionRequest,
  AuthRoleRevokePermissionResponse,
  AuthStatusRequest,
  AuthStatusResponse,
  AuthUserAddRequest,
  AuthUserAddResponse,
  AuthUserChangePasswordRequest,
  AuthUserChangePasswordResponse,
  AuthUserDeleteRequest,
  AuthUserDeleteResponse,
  AuthUserGetRequest,
  AuthUserGetResponse,
  AuthUserGrantRoleRequest,
  AuthUserGrantRoleResponse,
  AuthUserListRequest,
  AuthUserListResponse,
  AuthUserRevokeRoleRequest,
  AuthUserRevokeRoleResponse,
  CompactionRequest,
  CompactionResponse,
  DefragmentRequest,
  DefragmentResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  HashKVRequest,
  HashKVResponse,
  HashRequest,
  HashResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesRequest,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  MemberListRequest,
  MemberListResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  StatusRequest,
  StatusResponse,
  TxnRequest,
  TxnResponse,
} from '../gen/etcdserverpb/rpc.js';
import {
  CampaignRequest,
  CampaignResponse,
  LeaderRequest,
  LeaderResponse,
  ProclaimRequest,
  ProclaimResponse,
  ResignRequest,
  ResignResponse,
} from '../gen/v3electionpb/v3election.js';
import { LockRequest, LockResponse, UnlockRequest, UnlockResponse } from '../gen/v3lockpb/v3lock.js';
import { authService } from './auth-service.js';
import { clusterService } from './cluster-service.js';
import { electionService } from './election-service.js';
import { toServerError } from './errors.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';
import { lockService } from './lock-service.js';
import { maintenanceService } from './maintenance-service.js';
import type { Node } from './node.js';

/** Largest JSON body read (the gRPC limit plus room for base64 and field names). */
const MAX_BODY_FACTOR = 2;

/** Proto field names that are not snake_case; every other JSON name maps back by camel → snake. */
const ORIG_CAMEL = new Set([
  'ID',
  'TTL',
  'authRevision',
  'clientURLs',
  'dbSize',
  'dbSizeInUse',
  'dbSizeQuota',
  'downgradeInfo',
  'grantedTTL',
  'hashedPassword',
  'isLearner',
  'memberID',
  'peerURLs',
  'raftAppliedIndex',
  'raftIndex',
  'raftTerm',
  'storageVersion',
  'targetID',
  'targetVersion',
]);

/** JSON names back to proto names. ResponseHeader's fields are all snake_case (its raft_term is not StatusResponse's raftTerm). */
function origNames(v: unknown, inHeader = false): unknown {
  if (Array.isArray(v)) return v.map((x) => origNames(x));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const name = !inHeader && ORIG_CAMEL.has(k) ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    out[name] = origNames(x, k === 'header');
  }
  return out;
}

interface Codec<T> {
  fromJSON(o: unknown): T;
  toJSON(m: T): unknown;
}
interface Route {
  request: Codec<unknown>;
  response: Codec<unknown>;
  call: (req: unknown, ctx: { signal: AbortSignal; token: string | undefined }) => Promise<unknown>;
}

/** grpc-gateway's HTTP status for a gRPC code. */
function httpStatus(code: Status): number {
  switch (code) {
    case Status.OK:
      return 200;
    case Status.CANCELLED:
      return 499;
    case Status.INVALID_ARGUMENT:
    case Status.FAILED_PRECONDITION:
    case Status.OUT_OF_RANGE:
      return 400;
    case Status.DEADLINE_EXCEEDED:
      return 504;
    case Status.NOT_FOUND:
      return 404;
    case Status.ALREADY_EXISTS:
    case Status.ABORTED:
      return 409;
    case Status.PERMISSION_DENIED:
      return 403;
    case Status.UNAUTHENTICATED:
      return 401;
    case Status.RESOURCE_EXHAUSTED:
      return 429;
    case Status.UNIMPLEMENTED:
      return 501;
    case Status.UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

export function jsonGateway(node: Node): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const kv = kvService(node);
  const lease = leaseService(node);
  const cluster = clusterService(node);
  const maint = maintenanceService(node);
  const lock = lockService(node);
  const election = electionService(node);
  const auth = authService(node);
  // The services read the signal and the auth token from their call context; the token comes
  // from the Authorization header, as etcd's grpc-gateway passes it on.
  type Ctx = Parameters<typeof kv.range>[1];
  const ctxOf = (signal: AbortSignal, token: string | undefined) =>
    ({
      signal,
      metadata: token === undefined ? Metadata() : Metadata({ authorization: token }),
      peer: '',
    }) as unknown as Ctx;
  const route = <Q, R>(
    request: Codec<Q>,
    response: Codec<R>,
    f: (q: Q, c: Ctx) => Promise<unknown>,
  ): Route => ({
    request: request as Codec<unknown>,
    response: response as Codec<unknown>,
    call: (q, c) => f(q as Q, ctxOf(c.signal, c.token)),
  });
  const routes = new Map<string, Route>([
    ['/v3/kv/range', route(RangeRequest, RangeResponse, (q, c) => kv.range(q, c))],
    ['/v3/kv/put', route(PutRequest, PutResponse, (q, c) => kv.put(q, c))],
    ['/v3/kv/deleterange', route(DeleteRangeRequest, DeleteRangeResponse, (q, c) => kv.deleteRange(q, c))],
    ['/v3/kv/txn', route(TxnRequest, TxnResponse, (q, c) => kv.txn(q, c))],
    ['/v3/kv/compaction', route(CompactionRequest, CompactionResponse, (q, c) => kv.compact(q, c))],
    ['/v3/lease/grant', route(LeaseGrantRequest, LeaseGrantResponse, (q, c) => lease.leaseGrant(q, c))],
    ['/v3/lease/revoke', route(LeaseRevokeRequest, LeaseRevokeResponse, (q, c) => lease.leaseRevoke(q, c))],
    [
      '/v3/kv/lease/revoke',
      route(LeaseRevokeRequest, LeaseRevokeResponse, (q, c) => lease.leaseRevoke(q, c)),
    ],
    [
      '/v3/lease/timetolive',
      route(LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, (q, c) => lease.leaseTimeToLive(q, c)),
    ],
    [
      '/v3/kv/lease/timetolive',
      route(LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, (q, c) => lease.leaseTimeToLive(q, c)),
    ],
    ['/v3/lease/leases', route(LeaseLeasesRequest, LeaseLeasesResponse, (q, c) => lease.leaseLeases(q, c))],
    [
      '/v3/kv/lease/leases',
      route(LeaseLeasesRequest, LeaseLeasesResponse, (q, c) => lease.leaseLeases(q, c)),
    ],
    [
      '/v3/cluster/member/list',
      route(MemberListRequest, MemberListResponse, (q, c) => cluster.memberList(q, c)),
    ],
    ['/v3/maintenance/status', route(StatusRequest, StatusResponse, (q, c) => maint.status(q, c))],
    ['/v3/maintenance/hash', route(HashRequest, HashResponse, (q, c) => maint.hash(q, c))],
    ['/v3/maintenance/hashkv', route(HashKVRequest, HashKVResponse, (q, c) => maint.hashKV(q, c))],
    ['/v3/maintenance/alarm', route(AlarmRequest, AlarmResponse, (q, c) => maint.alarm(q, c))],
    [
      '/v3/maintenance/defragment',
      route(DefragmentRequest, DefragmentResponse, (q, c) => maint.defragment(q, c)),
    ],
    ['/v3/lock/lock', route(LockRequest, LockResponse, (q, c) => lock.lock(q, c))],
    ['/v3/lock/unlock', route(UnlockRequest, UnlockResponse, (q, c) => lock.unlock(q, c))],
    ['/v3/election/campaign', route(CampaignRequest, CampaignResponse, (q, c) => election.campaign(q, c))],
    ['/v3/election/proclaim', route(ProclaimRequest, ProclaimResponse, (q, c) => election.proclaim(q, c))],
    ['/v3/election/leader', route(LeaderRequest, LeaderResponse, (q, c) => election.leader(q, c))],
    ['/v3/election/resign', route(ResignRequest, ResignResponse, (q, c) => election.resign(q, c))],
    ['/v3/auth/enable', route(AuthEnableRequest, AuthEnableResponse, (q, c) => auth.authEnable(q, c))],
    ['/v3/auth/disable', route(AuthDisableRequest, AuthDisableResponse, (q, c) => auth.authDisable(q, c))],
    ['/v3/auth/status', route(AuthStatusRequest, AuthStatusResponse, (q, c) => auth.authStatus(q, c))],
    [
      '/v3/auth/authenticate',
      route(AuthenticateRequest, AuthenticateResponse, (q, c) => auth.authenticate(q, c)),
    ],
    ['/v3/auth/user/add', route(AuthUserAddRequest, AuthUserAddResponse, (q, c) => auth.userAdd(q, c))],
    ['/v3/auth/user/get', route(AuthUserGetRequest, AuthUserGetResponse, (q, c) => auth.userGet(q, c))],
    ['/v3/auth/user/list', route(AuthUserListRequest, AuthUserListResponse, (q, c) => auth.userList(q, c))],
    [
      '/v3/auth/user/delete',
      route(AuthUserDeleteRequest, AuthUserDeleteResponse, (q, c) => auth.userDelete(q, c)),
    ],
    [
      '/v3/auth/user/changepw',
      route(AuthUserChangePasswordRequest, AuthUserChangePasswordResponse, (q, c) =>
        auth.userChangePassword(q, c),
      ),
    ],
    [
      '/v3/auth/user/grant',
      route(AuthUserGrantRoleRequest, AuthUserGrantRoleResponse, (q, c) => auth.userGrantRole(q, c)),
    ],
    [
      '/v3/auth/user/revoke',
      route(AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponse, (q, c) => auth.userRevokeRole(q, c)),
    ],
    ['/v3/auth/role/add', route(AuthRoleAddRequest, AuthRoleAddResponse, (q, c) => auth.roleAdd(q, c))],
    ['/v3/auth/role/get', route(AuthRoleGetRequest, AuthRoleGetResponse, (q, c) => auth.roleGet(q, c))],
    ['/v3/auth/role/list', route(AuthRoleListRequest, AuthRoleListResponse, (q, c) => auth.roleList(q, c))],
    [
      '/v3/auth/role/delete',
      route(AuthRoleDeleteRequest, AuthRoleDeleteResponse, (q, c) => auth.roleDelete(q, c)),
    ],
    [
      '/v3/auth/role/grant',
      route(AuthRoleGrantPermissionRequest, AuthRoleGrantPermissionResponse, (q, c) =>
        auth.roleGrantPermission(q, c),
      ),
    ],
    [
      '/v3/auth/role/revoke',
      route(AuthRoleRevokePermissionRequest, AuthRoleRevokePermissionResponse, (q, c) =>
        auth.roleRevokePermission(q, c),
      ),
    ],
  ]);
  const maxBody = MAX_BODY_FACTOR * node.config.maxRequestBytes;

  return (req, res) => {
    const r = routes.get((req.url ?? '').split('?')[0]!);
    if (!r) return false;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (err: unknown) => {
      const e = toServerError(err);
      send(httpStatus(e.code), { error: e.details, code: e.code, message: e.details });
    };
    if (req.method !== 'POST') {
      send(405, { error: 'Method Not Allowed', code: Status.UNIMPLEMENTED, message: 'Method Not Allowed' });
      return true;
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        fail(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      let parsed: unknown;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        parsed = r.request.fromJSON(text.trim() === '' ? {} : JSON.parse(text));
      } catch (err) {
        send(400, { error: String(err), code: Status.INVALID_ARGUMENT, message: String(err) });
        return;
      }
      const token = req.headers.authorization;
      r.call(parsed, { signal: abort.signal, token: typeof token === 'string' ? token : undefined }).then(
        (out) => send(200, origNames(r.response.toJSON(out))),
        fail,
      );
    });
    return true;
  };
}
