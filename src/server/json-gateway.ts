/**
 * etcd's JSON gateway (grpc-gateway): `POST /v3/kv/range` with the request as JSON, answered with
 * the response as JSON — 64-bit integers as strings, bytes in base64, field names as in the
 * .proto (etcd's gateway marshals with OrigName), zero values left out. /v3beta/ is etcd 3.4's
 * older name of the same paths (3.4 answers /v3alpha/ with 404). Errors come back as
 * `{"error", "code", "message"}` with the HTTP status grpc-gateway maps the gRPC code to.
 *
 * A body is read as etcd's gateway reads it (see gateway-json.ts): one JSON value for a unary
 * call, whatever follows it unread; each field checked against its protobuf type, and a bad
 * value refused with etcd's 400 and message before anything is called. An unknown path under
 * /v3/ is a plain-text 404, another method than POST on a known one a plain-text 405.
 *
 * The streaming calls (/v3/watch, /v3/lease/keepalive, /v3/election/observe) take one or more
 * concatenated JSON requests as the body and answer with newline-delimited `{"result": …}`
 * objects, as grpc-gateway v1 streams; an error after the first answer ends the stream with
 * `{"error": {"grpc_code", "http_code", "message", "http_status"}}`. A watch keeps streaming
 * after the body ends, until the client goes; a keepalive ends once each request is answered.
 */
import http from 'node:http';
import { TLSSocket } from 'node:tls';
import type { DescMessage } from '@bufbuild/protobuf';
import { Metadata, Status } from 'nice-grpc-common';
import {
  AuthDefinition,
  ClusterDefinition,
  KVDefinition,
  LeaseDefinition,
  MaintenanceDefinition,
  WatchDefinition,
} from '../gen/etcdserverpb/rpc.js';
import { ElectionDefinition } from '../gen/v3electionpb/v3election.js';
import { LockDefinition } from '../gen/v3lockpb/v3lock.js';
import { TooManyOpsError } from '../mvcc/errors.js';
import { authService } from './auth-service.js';
import { CERT_USER_KEY, commonName } from './cert-users.js';
import { clusterService } from './cluster-service.js';
import { GRPC_OVERHEAD_BYTES } from './config.js';
import { electionService } from './election-service.js';
import { MessageTooLargeError, toServerError } from './errors.js';
import { GatewayJsonError, gatewayRequest, JsonBody, requestType } from './gateway-json.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';
import { lockService } from './lock-service.js';
import { maintenanceService } from './maintenance-service.js';
import type { Node } from './node.js';
import { requireLeader } from './require-leader.js';
import { watchService } from './watch-service.js';

/**
 * Largest JSON body read: the gRPC limit with room for base64 (4/3) and field names. A body
 * under it is parsed, then held to the gRPC limit by its protobuf size, as etcd's gateway (a
 * gRPC client of its own server) is.
 */
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
  'keyPermission',
  'memberID',
  'peerURLs',
  'permType',
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
  fromPartial(o: unknown): T;
  toJSON(m: T): unknown;
  encode(m: T): { finish(): Uint8Array };
}
/** A gateway call's context: the client going away, and the auth token of its Authorization header. */
interface GatewayCtx {
  signal: AbortSignal;
  token?: string;
  /** The verified client certificate's CN under --client-cert-auth (see cert-users.ts). */
  certUser?: string;
  /** `Grpc-Metadata-Hasleader: true`, which grpc-gateway passes on as the `hasleader` metadata. */
  requireLeader?: boolean;
}

interface Service {
  fullName: string;
  methods: Record<
    string,
    {
      name: string;
      requestType: unknown;
      responseType: unknown;
      requestStream: boolean;
      responseStream: boolean;
    }
  >;
}
interface RouteBase {
  /** The gRPC method, as etcd's metrics name it. */
  grpcPath: string;
  requestStream: boolean;
  responseStream: boolean;
  request: Codec<unknown>;
  response: Codec<unknown>;
  /** The request's descriptor, for reading it from JSON. */
  input: DescMessage;
}
interface UnaryRoute extends RouteBase {
  call: (req: unknown, ctx: GatewayCtx) => Promise<unknown>;
}
interface StreamRoute extends RouteBase {
  /** Answers the requests of the body; ends when the call's signal aborts, if not before. */
  stream: (reqs: unknown[], ctx: GatewayCtx) => AsyncIterable<unknown>;
}
type Route = UnaryRoute | StreamRoute;

/** grpc-gateway's HTTP status for a gRPC code. */
function httpStatus(code: Status): number {
  switch (code) {
    case Status.OK:
      return 200;
    case Status.CANCELLED:
      return 499;
    case Status.INVALID_ARGUMENT:
    case Status.OUT_OF_RANGE:
      return 400;
    case Status.FAILED_PRECONDITION:
      return 412;
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

/**
 * The gateway's path of a request as etcd 3.4 matches it: percent-decoded, /v3beta/ read as
 * /v3/, a `:verb` ending split off (an empty verb matches, as none of the paths has one).
 * Undefined for a path outside /v3/ and /v3beta/ (not the gateway's), null for a path under
 * them that names no call, 'bad-request' for a bad percent escape (refused by Go's server).
 */
function gatewayPath(url: string | undefined): string | null | 'bad-request' | undefined {
  const raw = (url ?? '').split('?')[0]!;
  const under = (p: string) => p.startsWith('/v3/') || p.startsWith('/v3beta/');
  const decoded = percentDecode(raw);
  if (decoded === undefined) return under(raw) ? 'bad-request' : undefined;
  if (!under(decoded)) return undefined;
  const parts = decoded.replace(/^\/v3beta\//, '/v3/').split('/');
  const last = parts[parts.length - 1]!;
  const colon = last.lastIndexOf(':');
  if (colon === 0 || (colon > 0 && colon < last.length - 1)) return null;
  if (colon > 0) parts[parts.length - 1] = last.slice(0, colon);
  return parts.join('/');
}

/** Go's url.PathUnescape, byte by byte (a latin1 string); undefined for a bad escape. */
function percentDecode(s: string): string | undefined {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '%') {
      bytes.push(s.charCodeAt(i) & 0xff);
      continue;
    }
    const hex = s.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('latin1');
}

/** A plain-text answer, as Go's http.Error (text ending in a newline) or Go's server writes. */
function plainError(res: http.ServerResponse, status: number, text: string, close = false): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

/** grpc-gateway v1's error object, ending a stream that has already answered. */
function streamError(code: Status, message: string) {
  const httpCode = httpStatus(code);
  return { error: { grpc_code: code, http_code: httpCode, message, http_status: httpStatusText(httpCode) } };
}

function httpStatusText(code: number): string {
  return http.STATUS_CODES[code] ?? 'Unknown';
}

export function jsonGateway(node: Node): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const kv = kvService(node);
  const lease = leaseService(node);
  const cluster = clusterService(node);
  const maint = maintenanceService(node);
  const lock = lockService(node);
  const election = electionService(node);
  const watch = watchService(node);
  const auth = authService(node);
  // The services only read the signal from their call context.
  type Ctx = Parameters<typeof kv.range>[1];
  // The services read the signal and the auth token from their call context; the token comes
  // from the Authorization header, as etcd's grpc-gateway passes it on.
  const ctxOf = (c: GatewayCtx) =>
    ({
      signal: c.signal,
      metadata:
        c.token !== undefined
          ? Metadata({ authorization: c.token })
          : c.certUser !== undefined
            ? Metadata({ [CERT_USER_KEY]: c.certUser })
            : Metadata(),
      peer: '',
    }) as unknown as Ctx;
  const gw = (svc: Service, key: string) => {
    const m = svc.methods[key]!;
    return {
      grpcPath: `/${svc.fullName}/${m.name}`,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      request: m.requestType as Codec<unknown>,
      response: m.responseType as Codec<unknown>,
      input: requestType(svc.fullName, m.name),
    };
  };
  const unary = (svc: Service, key: string, f: (q: never, c: Ctx) => Promise<unknown>): Route => ({
    ...gw(svc, key),
    call: (q, c) => f(q as never, ctxOf(c)),
  });
  const stream = (svc: Service, key: string, f: (qs: never[], c: Ctx) => AsyncIterable<unknown>): Route => ({
    ...gw(svc, key),
    stream: (qs, c) => {
      if (!c.requireLeader) return f(qs as never[], ctxOf(c));
      // As on gRPC (see require-leader.ts): the handler's own signal ends it with the stream.
      const ac = new AbortController();
      c.signal.addEventListener('abort', () => ac.abort(), { once: true });
      return requireLeader(node, f(qs as never[], ctxOf({ ...c, signal: ac.signal })), () => ac.abort());
    },
  });
  const KV = KVDefinition;
  const Lease = LeaseDefinition;
  const Cluster = ClusterDefinition;
  const Maint = MaintenanceDefinition;
  const AuthD = AuthDefinition;
  const Election = ElectionDefinition;
  // etcd's paths (etcd 3.4's rpc.proto http options; /v3/kv/lease/… are its older lease paths).
  const routes = new Map<string, Route>([
    ['/v3/kv/range', unary(KV, 'range', (q, c) => kv.range(q, c))],
    ['/v3/kv/put', unary(KV, 'put', (q, c) => kv.put(q, c))],
    ['/v3/kv/deleterange', unary(KV, 'deleteRange', (q, c) => kv.deleteRange(q, c))],
    ['/v3/kv/txn', unary(KV, 'txn', (q, c) => kv.txn(q, c))],
    ['/v3/kv/compaction', unary(KV, 'compact', (q, c) => kv.compact(q, c))],
    ['/v3/watch', stream(WatchDefinition, 'watch', (qs, c) => watch.watch(iterate(qs), c))],
    ['/v3/lease/grant', unary(Lease, 'leaseGrant', (q, c) => lease.leaseGrant(q, c))],
    ['/v3/lease/revoke', unary(Lease, 'leaseRevoke', (q, c) => lease.leaseRevoke(q, c))],
    ['/v3/kv/lease/revoke', unary(Lease, 'leaseRevoke', (q, c) => lease.leaseRevoke(q, c))],
    [
      '/v3/lease/keepalive',
      stream(Lease, 'leaseKeepAlive', (qs, c) => answerEach(qs, c, lease.leaseKeepAlive)),
    ],
    ['/v3/lease/timetolive', unary(Lease, 'leaseTimeToLive', (q, c) => lease.leaseTimeToLive(q, c))],
    ['/v3/kv/lease/timetolive', unary(Lease, 'leaseTimeToLive', (q, c) => lease.leaseTimeToLive(q, c))],
    ['/v3/lease/leases', unary(Lease, 'leaseLeases', (q, c) => lease.leaseLeases(q, c))],
    ['/v3/kv/lease/leases', unary(Lease, 'leaseLeases', (q, c) => lease.leaseLeases(q, c))],
    ['/v3/cluster/member/add', unary(Cluster, 'memberAdd', (q, c) => cluster.memberAdd(q, c))],
    ['/v3/cluster/member/remove', unary(Cluster, 'memberRemove', (q, c) => cluster.memberRemove(q, c))],
    ['/v3/cluster/member/update', unary(Cluster, 'memberUpdate', (q, c) => cluster.memberUpdate(q, c))],
    ['/v3/cluster/member/list', unary(Cluster, 'memberList', (q, c) => cluster.memberList(q, c))],
    ['/v3/cluster/member/promote', unary(Cluster, 'memberPromote', (q, c) => cluster.memberPromote(q, c))],
    ['/v3/auth/enable', unary(AuthD, 'authEnable', (q, c) => auth.authEnable(q, c))],
    ['/v3/auth/disable', unary(AuthD, 'authDisable', (q, c) => auth.authDisable(q, c))],
    ['/v3/auth/status', unary(AuthD, 'authStatus', (q, c) => auth.authStatus(q, c))],
    ['/v3/auth/authenticate', unary(AuthD, 'authenticate', (q, c) => auth.authenticate(q, c))],
    ['/v3/auth/user/add', unary(AuthD, 'userAdd', (q, c) => auth.userAdd(q, c))],
    ['/v3/auth/user/get', unary(AuthD, 'userGet', (q, c) => auth.userGet(q, c))],
    ['/v3/auth/user/list', unary(AuthD, 'userList', (q, c) => auth.userList(q, c))],
    ['/v3/auth/user/delete', unary(AuthD, 'userDelete', (q, c) => auth.userDelete(q, c))],
    ['/v3/auth/user/changepw', unary(AuthD, 'userChangePassword', (q, c) => auth.userChangePassword(q, c))],
    ['/v3/auth/user/grant', unary(AuthD, 'userGrantRole', (q, c) => auth.userGrantRole(q, c))],
    ['/v3/auth/user/revoke', unary(AuthD, 'userRevokeRole', (q, c) => auth.userRevokeRole(q, c))],
    ['/v3/auth/role/add', unary(AuthD, 'roleAdd', (q, c) => auth.roleAdd(q, c))],
    ['/v3/auth/role/get', unary(AuthD, 'roleGet', (q, c) => auth.roleGet(q, c))],
    ['/v3/auth/role/list', unary(AuthD, 'roleList', (q, c) => auth.roleList(q, c))],
    ['/v3/auth/role/delete', unary(AuthD, 'roleDelete', (q, c) => auth.roleDelete(q, c))],
    ['/v3/auth/role/grant', unary(AuthD, 'roleGrantPermission', (q, c) => auth.roleGrantPermission(q, c))],
    ['/v3/auth/role/revoke', unary(AuthD, 'roleRevokePermission', (q, c) => auth.roleRevokePermission(q, c))],
    ['/v3/maintenance/alarm', unary(Maint, 'alarm', (q, c) => maint.alarm(q, c))],
    ['/v3/maintenance/status', unary(Maint, 'status', (q, c) => maint.status(q, c))],
    ['/v3/maintenance/defragment', unary(Maint, 'defragment', (q, c) => maint.defragment(q, c))],
    ['/v3/maintenance/hash', unary(Maint, 'hash', (q, c) => maint.hash(q, c))],
    // etcd 3.4 binds HashKV to /v3/maintenance/hash too, where Hash answers; 3.5 added this path.
    ['/v3/maintenance/hashkv', unary(Maint, 'hashKV', (q, c) => maint.hashKV(q, c))],
    ['/v3/maintenance/snapshot', stream(Maint, 'snapshot', (qs, c) => maint.snapshot(qs[0] ?? {}, c))],
    ['/v3/maintenance/transfer-leadership', unary(Maint, 'moveLeader', (q, c) => maint.moveLeader(q, c))],
    ['/v3/lock/lock', unary(LockDefinition, 'lock', (q, c) => lock.lock(q, c))],
    ['/v3/lock/unlock', unary(LockDefinition, 'unlock', (q, c) => lock.unlock(q, c))],
    ['/v3/election/campaign', unary(Election, 'campaign', (q, c) => election.campaign(q, c))],
    ['/v3/election/proclaim', unary(Election, 'proclaim', (q, c) => election.proclaim(q, c))],
    ['/v3/election/leader', unary(Election, 'leader', (q, c) => election.leader(q, c))],
    ['/v3/election/observe', stream(Election, 'observe', (qs, c) => election.observe(qs[0] ?? {}, c))],
    ['/v3/election/resign', unary(Election, 'resign', (q, c) => election.resign(q, c))],
  ]);
  const limit = node.config.maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const maxBody = MAX_BODY_FACTOR * limit;

  return (req, res) => {
    const path = gatewayPath(req.url);
    if (path === undefined) return false;
    // Neither stream may throw out of an event handler: an error event with no listener does.
    req.on('error', () => {});
    res.on('error', () => {});
    if (path === 'bad-request') {
      plainError(res, 400, '400 Bad Request', true);
      return true;
    }
    const r = path === null ? undefined : routes.get(path);
    if (!r) {
      plainError(res, 404, 'Not Found\n');
      return true;
    }
    if (req.method !== 'POST') {
      plainError(res, 405, 'Method Not Allowed\n');
      return true;
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (err: unknown) => {
      const e = toServerError(err);
      send(httpStatus(e.code), { error: e.details, code: e.code, message: e.details });
    };
    /** The last resort for a bug: answered as gRPC's Internal, never thrown out of a handler. */
    const internal = (err: unknown) => {
      console.error(
        `concord: unexpected error in the JSON gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      send(500, { error: message, code: Status.INTERNAL, message });
    };
    const guard =
      <A extends unknown[]>(f: (...args: A) => void) =>
      (...args: A) => {
        try {
          f(...args);
        } catch (err) {
          internal(err);
        }
      };
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on(
      'data',
      guard((c: Buffer) => {
        if (size > maxBody) return;
        size += c.length;
        if (size > maxBody) {
          fail(new MessageTooLargeError(size, limit));
          // Stop reading, but let the answer go out before the connection closes.
          req.pause();
          res.on('finish', () => req.destroy());
          return;
        }
        chunks.push(c);
      }),
    );
    req.on(
      'end',
      guard(() => {
        if (size > maxBody) return;
        let reqs: unknown[];
        try {
          reqs = readRequests(r, new JsonBody(Buffer.concat(chunks)));
        } catch (err) {
          if (!(err instanceof GatewayJsonError)) throw err;
          // etcd's gateway marshals a null element of a repeated message into a panic, which
          // Go's server answers by closing the connection.
          if (err.kind === 'unhandled') res.destroy();
          else if (err.kind === 'too-deep') fail(new TooManyOpsError());
          // A bidirectional stream's first request is decoded after the call is opened, and
          // its error comes back as the call's (gRPC Unknown), not as an InvalidArgument.
          else if (r.requestStream)
            send(500, { error: err.message, code: Status.UNKNOWN, message: err.message });
          else send(400, { error: err.message, code: Status.INVALID_ARGUMENT, message: err.message });
          return;
        }
        for (const q of reqs) {
          const n = r.request.encode(q).finish().length;
          if (n > limit) return fail(new MessageTooLargeError(n, limit));
        }
        // etcd's gateway is a gRPC client of its own server: its calls count as gRPC calls.
        const ended = node.metrics.gatewayCall(r.grpcPath, r.requestStream, r.responseStream);
        const authorization = req.headers.authorization;
        const socket = req.socket;
        const ctx = {
          signal: abort.signal,
          certUser:
            node.config.clientTls?.clientCertAuth && socket instanceof TLSSocket && socket.authorized
              ? commonName(socket)
              : undefined,
          token: typeof authorization === 'string' ? authorization : undefined,
          requireLeader: req.headers['grpc-metadata-hasleader'] === 'true',
        };
        if ('stream' in r) return streamOut(r, reqs, res, ctx, abort, ended, internal);
        r.call(reqs[0], ctx)
          .then(
            (out) => {
              ended();
              send(200, origNames(r.response.toJSON(out)));
            },
            (err) => {
              ended(toServerError(err));
              fail(err);
            },
          )
          .catch(internal);
      }),
    );
    return true;
  };
}

/**
 * The requests of a body, as etcd's gateway reads them: a unary or server-streaming call reads
 * one JSON value (none is an empty request) and never looks past it; a bidirectional stream
 * reads value after value, and a bad one after the first ends its requests there, as the
 * gateway half-closes the call when it cannot decode the next one. Throws a GatewayJsonError
 * for the first request.
 */
function readRequests(r: Route, body: JsonBody): unknown[] {
  const read = () => {
    const value = body.next();
    return value && r.request.fromPartial(gatewayRequest(body, value, r.input));
  };
  if (!r.requestStream) return [read() ?? r.request.fromPartial({})];
  const reqs: unknown[] = [];
  for (;;) {
    let q: unknown;
    try {
      q = read();
    } catch (err) {
      if (reqs.length === 0 || !(err instanceof GatewayJsonError)) throw err;
      return reqs;
    }
    if (q === undefined) return reqs;
    reqs.push(q);
  }
}

/** Writes a stream's answers as they come, one JSON object a line. */
function streamOut(
  r: StreamRoute,
  reqs: unknown[],
  res: http.ServerResponse,
  ctx: GatewayCtx,
  abort: AbortController,
  ended: (err?: unknown, canceled?: boolean) => void,
  internal: (err: unknown) => void,
): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
  // Sent at once: a client waiting on the response headers learns that the stream is open.
  res.flushHeaders();
  (async () => {
    try {
      for await (const m of r.stream(reqs, ctx)) {
        if (abort.signal.aborted) break;
        res.write(`${JSON.stringify({ result: origNames(r.response.toJSON(m)) })}\n`);
      }
      ended(undefined, abort.signal.aborted);
    } catch (err) {
      if (abort.signal.aborted) ended(undefined, true);
      else {
        const e = toServerError(err);
        ended(e);
        res.write(`${JSON.stringify(streamError(e.code, e.details))}\n`);
      }
    }
    res.end();
  })().catch(internal);
}

/** The requests of a body, as the request stream of a gRPC call that then half-closes. */
async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

/**
 * Runs a bidirectional call whose requests each get one answer (LeaseKeepAlive), ending it once
 * every request of the body is answered: half-closing at once would end the call before the
 * answers (etcd's gateway answers each keepalive of a body, then ends).
 */
async function* answerEach<Q, R>(
  reqs: Q[],
  ctx: { signal: AbortSignal },
  call: (requests: AsyncIterable<Q>, ctx: never) => AsyncIterable<R>,
): AsyncGenerator<R> {
  let done!: () => void;
  const answered = new Promise<void>((resolve) => {
    done = resolve;
  });
  async function* requests() {
    yield* reqs;
    await answered;
  }
  let n = 0;
  try {
    if (reqs.length === 0) return;
    for await (const m of call(requests(), ctx as never)) {
      yield m;
      if (++n === reqs.length) return;
    }
  } finally {
    done();
  }
}
