/**
 * The fetch transport's codec for etcd's JSON gateway: which path serves each gRPC method, the
 * requests in the proto3 JSON mapping (64-bit integers as strings, bytes in base64, done by the
 * generated codecs), the answers as one JSON object or a newline-delimited stream of them, and
 * the gateway's error bodies and HTTP statuses as the ClientError the gRPC transport would have
 * thrown (see fetch-transport.ts for the formats each etcd version sends).
 */
import { ClientError, Status } from 'nice-grpc-common';

/** Gateway paths of the etcd API calls, by gRPC method path. */
export const PATHS: Record<string, string> = {
  '/etcdserverpb.KV/Range': '/v3/kv/range',
  '/etcdserverpb.KV/Put': '/v3/kv/put',
  '/etcdserverpb.KV/DeleteRange': '/v3/kv/deleterange',
  '/etcdserverpb.KV/Txn': '/v3/kv/txn',
  '/etcdserverpb.KV/Compact': '/v3/kv/compaction',
  '/etcdserverpb.Watch/Watch': '/v3/watch',
  '/etcdserverpb.Lease/LeaseGrant': '/v3/lease/grant',
  // etcd 3.4 serves these under /v3/kv/lease/ as well; /v3/lease/ is the name both know.
  '/etcdserverpb.Lease/LeaseRevoke': '/v3/lease/revoke',
  '/etcdserverpb.Lease/LeaseKeepAlive': '/v3/lease/keepalive',
  '/etcdserverpb.Lease/LeaseTimeToLive': '/v3/lease/timetolive',
  '/etcdserverpb.Lease/LeaseLeases': '/v3/lease/leases',
  '/etcdserverpb.Cluster/MemberAdd': '/v3/cluster/member/add',
  '/etcdserverpb.Cluster/MemberRemove': '/v3/cluster/member/remove',
  '/etcdserverpb.Cluster/MemberUpdate': '/v3/cluster/member/update',
  '/etcdserverpb.Cluster/MemberList': '/v3/cluster/member/list',
  '/etcdserverpb.Cluster/MemberPromote': '/v3/cluster/member/promote',
  '/etcdserverpb.Auth/AuthEnable': '/v3/auth/enable',
  '/etcdserverpb.Auth/AuthDisable': '/v3/auth/disable',
  '/etcdserverpb.Auth/AuthStatus': '/v3/auth/status',
  '/etcdserverpb.Auth/Authenticate': '/v3/auth/authenticate',
  '/etcdserverpb.Auth/UserAdd': '/v3/auth/user/add',
  '/etcdserverpb.Auth/UserGet': '/v3/auth/user/get',
  '/etcdserverpb.Auth/UserList': '/v3/auth/user/list',
  '/etcdserverpb.Auth/UserDelete': '/v3/auth/user/delete',
  '/etcdserverpb.Auth/UserChangePassword': '/v3/auth/user/changepw',
  '/etcdserverpb.Auth/UserGrantRole': '/v3/auth/user/grant',
  '/etcdserverpb.Auth/UserRevokeRole': '/v3/auth/user/revoke',
  '/etcdserverpb.Auth/RoleAdd': '/v3/auth/role/add',
  '/etcdserverpb.Auth/RoleGet': '/v3/auth/role/get',
  '/etcdserverpb.Auth/RoleList': '/v3/auth/role/list',
  '/etcdserverpb.Auth/RoleDelete': '/v3/auth/role/delete',
  '/etcdserverpb.Auth/RoleGrantPermission': '/v3/auth/role/grant',
  '/etcdserverpb.Auth/RoleRevokePermission': '/v3/auth/role/revoke',
  '/etcdserverpb.Maintenance/Alarm': '/v3/maintenance/alarm',
  '/etcdserverpb.Maintenance/Status': '/v3/maintenance/status',
  '/etcdserverpb.Maintenance/Defragment': '/v3/maintenance/defragment',
  '/etcdserverpb.Maintenance/Hash': '/v3/maintenance/hash',
  '/etcdserverpb.Maintenance/HashKV': '/v3/maintenance/hashkv',
  '/etcdserverpb.Maintenance/Snapshot': '/v3/maintenance/snapshot',
  '/etcdserverpb.Maintenance/MoveLeader': '/v3/maintenance/transfer-leadership',
  '/v3lockpb.Lock/Lock': '/v3/lock/lock',
  '/v3lockpb.Lock/Unlock': '/v3/lock/unlock',
  '/v3electionpb.Election/Campaign': '/v3/election/campaign',
  '/v3electionpb.Election/Proclaim': '/v3/election/proclaim',
  '/v3electionpb.Election/Leader': '/v3/election/leader',
  '/v3electionpb.Election/Observe': '/v3/election/observe',
  '/v3electionpb.Election/Resign': '/v3/election/resign',
};

export interface Codec {
  fromJSON(o: unknown): unknown;
  toJSON(m: unknown): unknown;
  fromPartial(m: unknown): unknown;
}
export interface MethodDef {
  name: string;
  requestType: Codec;
  responseType: Codec;
  requestStream: boolean;
  responseStream: boolean;
}
export type Json = Record<string, unknown>;

/** The JSON body of a request, in the proto3 JSON mapping. */
export function encodeRequest(m: MethodDef, req: unknown): string {
  return JSON.stringify(m.requestType.toJSON(m.requestType.fromPartial(req)));
}

/** Throws the ClientError a non-2xx answer stands for: its body's gRPC status, or its HTTP status. */
export async function throwResponseError(res: Response, grpcPath: string): Promise<never> {
  let text = '';
  try {
    text = await res.text();
  } catch (e) {
    throw networkError(grpcPath, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  throw statusError(grpcPath, parsed) ?? httpError(grpcPath, res.status, text);
}

export async function readJson(res: Response, grpcPath: string): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    throw networkError(grpcPath, e);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ClientError(grpcPath, Status.INTERNAL, `invalid JSON from the gateway: ${text.slice(0, 200)}`);
  }
}

/** The objects of a newline-delimited JSON stream; an `error` object ends it with its ClientError. */
export async function* ndjson(res: Response, grpcPath: string): AsyncGenerator<Json> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const parse = (line: string): Json => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new ClientError(
        grpcPath,
        Status.INTERNAL,
        `invalid JSON from the gateway: ${line.slice(0, 200)}`,
      );
    }
    const o = (v ?? {}) as Json;
    if (o.error !== undefined) {
      throw statusError(grpcPath, o) ?? new ClientError(grpcPath, Status.UNKNOWN, JSON.stringify(o.error));
    }
    return o;
  };
  try {
    for (;;) {
      let chunk: { done: boolean; value?: Uint8Array };
      try {
        chunk = await reader.read();
      } catch (e) {
        throw networkError(grpcPath, e);
      }
      if (chunk.done) break;
      buf += decoder.decode(chunk.value, { stream: true });
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line !== '') yield parse(line);
      }
    }
    if (buf.trim() !== '') yield parse(buf.trim());
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * The gRPC status an error body carries: etcd 3.4's `{"error": message, "message", "code"}`,
 * 3.5+'s `{"code", "message", "details"}`, or a stream's `{"error": {"grpc_code" | "code", "message"}}`.
 */
export function statusError(grpcPath: string, body: unknown): ClientError | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as Json;
  if (b.error !== null && typeof b.error === 'object') return statusError(grpcPath, b.error);
  const code =
    typeof b.code === 'number' ? b.code : typeof b.grpc_code === 'number' ? b.grpc_code : undefined;
  const message =
    typeof b.message === 'string' ? b.message : typeof b.error === 'string' ? b.error : undefined;
  if (code === undefined || message === undefined) return undefined;
  return new ClientError(grpcPath, code, message);
}

/** An answer with no gRPC status in it (a proxy's page, a path the server does not serve). */
function httpError(grpcPath: string, status: number, text: string): ClientError {
  const code =
    status === 404 || status === 405 || status === 501
      ? Status.UNIMPLEMENTED
      : status === 400
        ? Status.INVALID_ARGUMENT
        : status === 401
          ? Status.UNAUTHENTICATED
          : status === 403
            ? Status.PERMISSION_DENIED
            : status === 429
              ? Status.RESOURCE_EXHAUSTED
              : status === 502 || status === 503
                ? Status.UNAVAILABLE
                : status === 504
                  ? Status.DEADLINE_EXCEEDED
                  : Status.UNKNOWN;
  const what =
    code === Status.UNIMPLEMENTED
      ? `${grpcPath} is not served by this endpoint's JSON gateway`
      : text.slice(0, 200);
  return new ClientError(grpcPath, code, `HTTP ${status}: ${what}`);
}

/**
 * fetch failed before an answer: UNAVAILABLE, with the socket error's own message (so a refused
 * connection reads "connect ECONNREFUSED …", which errors.ts knows was never sent).
 */
export function networkError(grpcPath: string, e: unknown): ClientError {
  if (e instanceof ClientError) return e;
  const cause = (e as { cause?: { message?: string } } | undefined)?.cause;
  const message = cause?.message ?? (e instanceof Error ? e.message : String(e));
  return new ClientError(grpcPath, Status.UNAVAILABLE, message);
}
