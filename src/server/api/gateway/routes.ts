/**
 * The gateway's routes: etcd 3.4's HTTP paths (its rpc.proto http options), each bound to the
 * service method it calls, with the codecs and the request descriptor the HTTP side needs. Kept
 * apart from the HTTP handling so that the table reads as etcd's list of paths, and a path is
 * added here without touching how requests are read or answered.
 */
import type { DescMessage } from '@bufbuild/protobuf';
import { Metadata } from 'nice-grpc-common';
import {
  AuthDefinition,
  ClusterDefinition,
  KVDefinition,
  LeaseDefinition,
  MaintenanceDefinition,
  WatchDefinition,
} from '../../../gen/etcdserverpb/rpc.js';
import { ElectionDefinition } from '../../../gen/v3electionpb/v3election.js';
import { LockDefinition } from '../../../gen/v3lockpb/v3lock.js';
import { CERT_USER_KEY } from '../../auth/cert-users.js';
import type { Node } from '../../bootstrap/node.js';
import { authService } from '../auth-service.js';
import { clusterService } from '../cluster-service.js';
import { electionService } from '../election-service.js';
import { kvService } from '../kv-service.js';
import { leaseService } from '../lease-service.js';
import { lockService } from '../lock-service.js';
import { maintenanceService } from '../maintenance-service.js';
import { remarshaledRange, remarshaledTxn } from '../range-end.js';
import { requireLeader } from '../require-leader.js';
import { watchService } from '../watch-service.js';
import { requestType } from './jsonpb.js';

interface Codec<T> {
  fromPartial(o: unknown): T;
  toJSON(m: T): unknown;
  encode(m: T): { finish(): Uint8Array };
}
/** A gateway call's context: the client going away, and the auth token of its Authorization header. */
export interface GatewayCtx {
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
export interface StreamRoute extends RouteBase {
  /** Answers the requests of the body; ends when the call's signal aborts, if not before. */
  stream: (reqs: unknown[], ctx: GatewayCtx) => AsyncIterable<unknown>;
}
export type Route = UnaryRoute | StreamRoute;

/** Each path of etcd's gateway (/v3beta/ already read as /v3/) and the call it makes on `node`. */
export function gatewayRoutes(node: Node): Map<string, Route> {
  const kv = kvService(node);
  const lease = leaseService(node);
  const cluster = clusterService(node);
  const maint = maintenanceService(node);
  const lock = lockService(node);
  const election = electionService(node);
  const watch = watchService(node);
  const auth = authService(node);
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
  return new Map<string, Route>([
    // grpc-gateway re-marshals the request to call the gRPC server: "range_end": "" is absent.
    ['/v3/kv/range', unary(KV, 'range', (q, c) => kv.range(remarshaledRange(q), c))],
    ['/v3/kv/put', unary(KV, 'put', (q, c) => kv.put(q, c))],
    ['/v3/kv/deleterange', unary(KV, 'deleteRange', (q, c) => kv.deleteRange(q, c))],
    ['/v3/kv/txn', unary(KV, 'txn', (q, c) => kv.txn(remarshaledTxn(q), c))],
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
