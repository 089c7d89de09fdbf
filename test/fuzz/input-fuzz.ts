/**
 * Hostile-input fuzzing of a 3-member Concord cluster (issue 23), through the JSON gateway and
 * through raw gRPC. Structure-aware: fast-check builds a valid request for a path (the route
 * table of src/server/api/gateway/routes.ts, or a gRPC method of the generated definitions), then a
 * mutation breaks it — wrong JSON types, int64s out of range, bad base64, deep nesting, sizes
 * just over the limits, unknown fields, bad UTF-8, trailing garbage, wrong methods on the
 * gateway; bit flips, truncation, insertions, lying length prefixes, nested txns and gRPC
 * framing tricks on gRPC; and a few raw byte streams at the shared client port.
 *
 * A run sends cases in batches; after each batch every member must be alive, answer a put and
 * a linearizable Range, and agree with the others on HashKV at one revision. A crash, a stuck
 * member or a disagreement is a failure: the case (its seed and index, its path, its exact
 * bytes) is printed and kept in test/fuzz/regressions.json, which the jest suite replays
 * first. At the end of a run every member is killed and started again on its data dir.
 *
 * Cases are generated `CHUNK` at a time with `fc.sample(arb, { seed: chunkSeed(seed, chunk) })`,
 * so `seed` and the case's index regenerate it (`--seed S --case N` in input-cli.ts).
 *
 * Kept harmless, so a run measures the server and not our own damage:
 * - /v3/auth/enable and Auth/AuthEnable are never sent (auth on would refuse every later
 *   request, the checks included); the other auth calls are.
 * - member remove/update/promote only name random IDs, and a case whose bytes contain a real
 *   member's ID is skipped; a member a case adds is removed again at once.
 * - an alarm a case raises (NOSPACE/CORRUPT refuse writes) is disarmed at once.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import {
  AuthDefinition,
  ClusterDefinition,
  KVDefinition,
  LeaseDefinition,
  MaintenanceDefinition,
  WatchDefinition,
} from '../../src/gen/etcdserverpb/rpc.js';
import { ElectionDefinition } from '../../src/gen/v3electionpb/v3election.js';
import { LockDefinition } from '../../src/gen/v3lockpb/v3lock.js';
import { type EtcdCluster, sleep, startEtcd } from '../harness/etcd.js';

// ---------------------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------------------

export type Target = 'gateway' | 'grpc';

/** How a case's request ends once its body is written. */
export type Ending =
  /** Half-close at once (the normal request). */
  | 'end'
  /** Write, wait ~200 ms, then half-close (a declared length the body never reaches). */
  | 'wait-end'
  /** Write, wait ~200 ms, then reset the stream / destroy the socket without half-closing. */
  | 'wait-cancel';

export interface FuzzCase {
  target: Target;
  /** 'http' (gateway request), 'socket' (raw bytes at the client port) or 'grpc'. */
  via: 'http' | 'socket' | 'grpc';
  /** The HTTP path, the gRPC method path, or '(socket)'. */
  path: string;
  /** The route this case was built from (for counts: aliases and raw sockets name their route). */
  route: string;
  /** The mutation family (for counts). */
  mutation: string;
  /** What exactly was done. */
  detail: string;
  /** Which member (0..2) receives it. */
  member: number;
  /** HTTP method (via http). */
  method?: string;
  /** Extra request headers (http and grpc). */
  headers?: Record<string, string>;
  /** The bytes sent: the HTTP body, the raw socket bytes, or the gRPC DATA payload (frames included). */
  body: Buffer;
  ending: Ending;
  /** Runs alone, followed by its cleanup (member add, alarm, big bodies). */
  exclusive?: boolean;
  /** A response stream: read briefly, then cancel. */
  stream?: boolean;
  /** The request may wait for good (lock, campaign): a timeout is expected. */
  mayBlock?: boolean;
}

/** Where a generated case comes from: regenerate with `generateCases(seed, target, index, 1)`. */
export interface CaseOrigin {
  seed: number;
  index: number;
  target: Target | 'both';
  /** Set when the run was narrowed (`--mutations`, `--routes`): needed to regenerate the case. */
  filter?: CaseFilter;
}

/** Narrows a run: only these mutation families, only routes containing one of these strings. */
export interface CaseFilter {
  mutations?: string[];
  routes?: string[];
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');

/** mulberry32: the mutations' positional choices, seeded from the case. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const below = (rng: Rng, n: number): number => Math.floor(rng() * n);

/** A JSON value with raw tokens (number texts JSON.stringify cannot write, deep nests). */
class Raw {
  constructor(readonly text: string) {}
}
type J = null | boolean | number | string | Raw | J[] | { [k: string]: J };

function serialize(v: J): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(serialize).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${serialize(x)}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

type JPath = (string | number)[];
interface JNode {
  path: JPath;
  value: J;
}

/** Every node of `v` but the root, depth first. */
function nodes(v: J, at: JPath = [], out: JNode[] = []): JNode[] {
  if (v instanceof Raw || v === null || typeof v !== 'object') return out;
  const entries: [string | number, J][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  for (const [k, x] of entries) {
    const p = [...at, k];
    out.push({ path: p, value: x });
    nodes(x, p, out);
  }
  return out;
}

function objects(v: J): JPath[] {
  const out: JPath[] = [];
  if (isObj(v)) out.push([]);
  for (const n of nodes(v)) if (isObj(n.value)) out.push(n.path);
  return out;
}

const isObj = (v: J): v is { [k: string]: J } =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Raw);

/** `root` with the node at `p` replaced (a structural copy along the path). */
function setAt(root: J, p: JPath, value: J): J {
  if (p.length === 0) return value;
  const [k, ...rest] = p;
  if (Array.isArray(root)) {
    const copy = [...root];
    copy[k as number] = setAt(root[k as number]!, rest, value);
    return copy;
  }
  const obj = root as { [k: string]: J };
  return { ...obj, [k as string]: setAt(obj[k as string] ?? null, rest, value) };
}

function getAt(root: J, p: JPath): J {
  let v: J = root;
  for (const k of p) v = (v as Record<string | number, J>)[k as never] ?? null;
  return v;
}

const show = (p: JPath): string => (p.length === 0 ? '(root)' : p.join('.'));

/** Up to `max` chars of a value's JSON, for details. */
function brief(v: J, max = 60): string {
  const s = serialize(v);
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
}

/** A mix of the run seed and a chunk number: the fast-check seed of that chunk. */
export function chunkSeed(seed: number, chunk: number): number {
  let h = (seed ^ Math.imul(chunk + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------
// Sizes (the cluster runs with --max-request-bytes MAX_REQUEST_BYTES, so "just over" stays cheap)
// ---------------------------------------------------------------------------------------------------------

export const MAX_REQUEST_BYTES = 64 * 1024;
/** src/server/bootstrap/config.ts GRPC_OVERHEAD_BYTES: the gRPC receive limit is max-request-bytes + this. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
export interface Limits {
  /** --max-request-bytes: the largest raft proposal. */
  request: number;
  /** The gRPC receive limit, and the gateway's limit on a request's protobuf size. */
  grpc: number;
  /** The gateway's limit on the raw JSON body (src/server/api/gateway/json-gateway.ts MAX_BODY_FACTOR). */
  body: number;
}
export function limitsFor(maxRequestBytes: number): Limits {
  const grpc = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  return { request: maxRequestBytes, grpc, body: 2 * grpc };
}

// ---------------------------------------------------------------------------------------------------------
// Valid requests, per route (JSON as etcd's gateway takes it: proto names, int64 as number or string)
// ---------------------------------------------------------------------------------------------------------

const KEYS = ['a', 'b', 'c', 'fuzz/1', 'fuzz/2', 'fuzz/', 'zz', '\u0000', ''];
const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...KEYS).map(b64) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map(b64) },
);
const endArb: fc.Arbitrary<string> = fc.oneof(keyArb, fc.constant('AA=='), fc.constant(b64('fuzz0')));
const valueArb = fc.uint8Array({ maxLength: 24 }).map(b64);
/** int64 fields: the gateway takes a number or a decimal string. */
const int64 = (a: fc.Arbitrary<number>): fc.Arbitrary<J> => fc.oneof(a, a.map(String));
const revArb = int64(fc.integer({ min: 0, max: 60 }));
const LEASE_IDS = [1, 2, 3, 1000, 0x7fffffff, 2 ** 40];
const leaseArb = int64(fc.constantFrom(0, 0, ...LEASE_IDS));
/** Member IDs that are not ours (ours are random 64-bit hashes; a guard skips them anyway). */
const fakeIdArb: fc.Arbitrary<J> = fc.oneof(
  int64(fc.integer({ min: 1, max: 1000 })),
  fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }).map((x) => x.toString()),
);
const NAMES = ['u1', 'u2', 'root', 'r1', 'r2', '', 'ü', 'x'.repeat(300), 'a b', '\u0000'];
const nameArb = fc.constantFrom(...NAMES);
/** etcd 3.5's hashedPassword: base64 of a bcrypt hash (of "x", cost 4). */
const HASHED = b64('$2a$04$4q0K1lSDDEbmw6Zx8v4y9uGv0mSIH5Qk.0A7Y3NDnNzV5gGhNQmUW');
const PEER_URLS = [
  'http://127.0.0.1:1',
  'http://127.0.0.2:2380',
  'http://10.255.255.1:2380',
  'https://localhost:9',
  'unix://x',
  'not a url',
  '',
];
const peerUrlsArb = fc.array(fc.constantFrom(...PEER_URLS), { minLength: 1, maxLength: 2 });
const rec = (shape: Record<string, fc.Arbitrary<J>>, required: string[] = []): fc.Arbitrary<J> =>
  fc.record(shape, { requiredKeys: required }) as fc.Arbitrary<J>;

const rangeArb = rec(
  {
    key: keyArb,
    range_end: endArb,
    limit: int64(fc.integer({ min: 0, max: 5 })),
    revision: revArb,
    sort_order: fc.constantFrom<J>('NONE', 'ASCEND', 'DESCEND', 1),
    sort_target: fc.constantFrom<J>('KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE', 2),
    serializable: fc.boolean(),
    keys_only: fc.boolean(),
    count_only: fc.boolean(),
    min_mod_revision: revArb,
    max_mod_revision: revArb,
    min_create_revision: revArb,
    max_create_revision: revArb,
  },
  ['key'],
);
const putArb = rec(
  { key: keyArb, value: valueArb, lease: leaseArb, prev_kv: fc.boolean(), ignore_value: fc.boolean() },
  ['key', 'value'],
);
const deleteArb = rec({ key: keyArb, range_end: endArb, prev_kv: fc.boolean() }, ['key']);
const compareArb = rec(
  {
    result: fc.constantFrom<J>('EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'),
    target: fc.constantFrom<J>('VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'),
    key: keyArb,
    range_end: endArb,
    version: revArb,
    create_revision: revArb,
    mod_revision: revArb,
    value: valueArb,
    lease: leaseArb,
  },
  ['key'],
);
function txnArb(depth: number): fc.Arbitrary<J> {
  const ops: fc.Arbitrary<J>[] = [
    rec({ request_range: rangeArb }, ['request_range']),
    rec({ request_put: putArb }, ['request_put']),
    rec({ request_delete_range: deleteArb }, ['request_delete_range']),
  ];
  if (depth > 0) ops.push(rec({ request_txn: txnArb(depth - 1) }, ['request_txn']));
  const op = fc.oneof(...ops);
  return rec({
    compare: fc.array(compareArb, { maxLength: 2 }),
    success: fc.array(op, { maxLength: 3 }),
    failure: fc.array(op, { maxLength: 2 }),
  });
}
const leaderKeyArb = rec({ name: keyArb, key: keyArb, rev: revArb, lease: leaseArb });

interface RouteSpec {
  /** The gateway path (undefined: gRPC only). */
  gateway?: string;
  /** The gRPC method path. */
  grpc: string;
  base: fc.Arbitrary<J>;
  /** A response stream (watch, keepalive, snapshot, observe). */
  stream?: boolean;
  /** May wait for good by design. */
  mayBlock?: boolean;
  /** Runs alone (and is cleaned up after). */
  exclusive?: boolean;
  weight: number;
}

const empty: fc.Arbitrary<J> = fc.constant({});

/**
 * Every route but /v3/auth/enable (see the header). gRPC paths are etcd's; Downgrade is gRPC only.
 */
export const ROUTES: RouteSpec[] = [
  { gateway: '/v3/kv/range', grpc: '/etcdserverpb.KV/Range', base: rangeArb, weight: 8 },
  { gateway: '/v3/kv/put', grpc: '/etcdserverpb.KV/Put', base: putArb, weight: 8 },
  { gateway: '/v3/kv/deleterange', grpc: '/etcdserverpb.KV/DeleteRange', base: deleteArb, weight: 4 },
  { gateway: '/v3/kv/txn', grpc: '/etcdserverpb.KV/Txn', base: txnArb(2), weight: 8 },
  {
    gateway: '/v3/kv/compaction',
    grpc: '/etcdserverpb.KV/Compact',
    base: rec({ revision: int64(fc.integer({ min: 1, max: 40 })), physical: fc.boolean() }, ['revision']),
    weight: 2,
  },
  {
    gateway: '/v3/watch',
    grpc: '/etcdserverpb.Watch/Watch',
    stream: true,
    base: fc.oneof(
      rec({
        create_request: rec(
          {
            key: keyArb,
            range_end: endArb,
            start_revision: revArb,
            progress_notify: fc.boolean(),
            filters: fc.array(fc.constantFrom<J>('NOPUT', 'NODELETE'), { maxLength: 2 }),
            prev_kv: fc.boolean(),
            watch_id: int64(fc.integer({ min: 0, max: 5 })),
            fragment: fc.boolean(),
          },
          ['key'],
        ),
      }),
      rec({ cancel_request: rec({ watch_id: int64(fc.integer({ min: 0, max: 5 })) }) }),
      rec({ progress_request: empty }),
    ),
    weight: 4,
  },
  {
    gateway: '/v3/lease/grant',
    grpc: '/etcdserverpb.Lease/LeaseGrant',
    base: rec({ TTL: int64(fc.integer({ min: 1, max: 600 })), ID: leaseArb }, ['TTL']),
    weight: 3,
  },
  {
    gateway: '/v3/lease/revoke',
    grpc: '/etcdserverpb.Lease/LeaseRevoke',
    base: rec({ ID: leaseArb }),
    weight: 2,
  },
  {
    gateway: '/v3/lease/keepalive',
    grpc: '/etcdserverpb.Lease/LeaseKeepAlive',
    stream: true,
    base: rec({ ID: leaseArb }),
    weight: 2,
  },
  {
    gateway: '/v3/lease/timetolive',
    grpc: '/etcdserverpb.Lease/LeaseTimeToLive',
    base: rec({ ID: leaseArb, keys: fc.boolean() }),
    weight: 2,
  },
  { gateway: '/v3/lease/leases', grpc: '/etcdserverpb.Lease/LeaseLeases', base: empty, weight: 1 },
  {
    gateway: '/v3/cluster/member/add',
    grpc: '/etcdserverpb.Cluster/MemberAdd',
    base: rec({ peerURLs: peerUrlsArb as fc.Arbitrary<J>, isLearner: fc.boolean() }, ['peerURLs']),
    exclusive: true,
    weight: 1,
  },
  {
    gateway: '/v3/cluster/member/remove',
    grpc: '/etcdserverpb.Cluster/MemberRemove',
    base: rec({ ID: fakeIdArb }),
    weight: 1,
  },
  {
    gateway: '/v3/cluster/member/update',
    grpc: '/etcdserverpb.Cluster/MemberUpdate',
    base: rec({ ID: fakeIdArb, peerURLs: peerUrlsArb as fc.Arbitrary<J> }),
    weight: 1,
  },
  {
    gateway: '/v3/cluster/member/list',
    grpc: '/etcdserverpb.Cluster/MemberList',
    base: rec({ linearizable: fc.boolean() }),
    weight: 1,
  },
  {
    gateway: '/v3/cluster/member/promote',
    grpc: '/etcdserverpb.Cluster/MemberPromote',
    base: rec({ ID: fakeIdArb }),
    weight: 1,
  },
  { gateway: '/v3/auth/disable', grpc: '/etcdserverpb.Auth/AuthDisable', base: empty, weight: 1 },
  { gateway: '/v3/auth/status', grpc: '/etcdserverpb.Auth/AuthStatus', base: empty, weight: 1 },
  {
    gateway: '/v3/auth/authenticate',
    grpc: '/etcdserverpb.Auth/Authenticate',
    base: rec({ name: nameArb, password: nameArb }),
    weight: 1,
  },
  {
    gateway: '/v3/auth/user/add',
    grpc: '/etcdserverpb.Auth/UserAdd',
    base: fc.oneof(
      rec({ name: nameArb, options: rec({ no_password: fc.constant(true) }) }),
      rec({ name: nameArb, password: nameArb }),
      rec({ name: nameArb, hashedPassword: fc.constantFrom<J>(HASHED, 'eA==', '') }),
    ),
    weight: 1,
  },
  {
    gateway: '/v3/auth/user/get',
    grpc: '/etcdserverpb.Auth/UserGet',
    base: rec({ name: nameArb }),
    weight: 1,
  },
  { gateway: '/v3/auth/user/list', grpc: '/etcdserverpb.Auth/UserList', base: empty, weight: 1 },
  {
    gateway: '/v3/auth/user/delete',
    grpc: '/etcdserverpb.Auth/UserDelete',
    base: rec({ name: nameArb }),
    weight: 1,
  },
  {
    gateway: '/v3/auth/user/changepw',
    grpc: '/etcdserverpb.Auth/UserChangePassword',
    base: fc.oneof(
      rec({ name: nameArb, password: nameArb }),
      rec({ name: nameArb, hashedPassword: fc.constantFrom<J>(HASHED, 'eA==', '') }),
    ),
    weight: 1,
  },
  {
    gateway: '/v3/auth/user/grant',
    grpc: '/etcdserverpb.Auth/UserGrantRole',
    base: rec({ user: nameArb, role: nameArb }),
    weight: 1,
  },
  {
    gateway: '/v3/auth/user/revoke',
    grpc: '/etcdserverpb.Auth/UserRevokeRole',
    base: rec({ name: nameArb, role: nameArb }),
    weight: 1,
  },
  {
    gateway: '/v3/auth/role/add',
    grpc: '/etcdserverpb.Auth/RoleAdd',
    base: rec({ name: nameArb }),
    weight: 1,
  },
  {
    gateway: '/v3/auth/role/get',
    grpc: '/etcdserverpb.Auth/RoleGet',
    base: rec({ role: nameArb }),
    weight: 1,
  },
  { gateway: '/v3/auth/role/list', grpc: '/etcdserverpb.Auth/RoleList', base: empty, weight: 1 },
  {
    gateway: '/v3/auth/role/delete',
    grpc: '/etcdserverpb.Auth/RoleDelete',
    base: rec({ role: nameArb }),
    weight: 1,
  },
  {
    gateway: '/v3/auth/role/grant',
    grpc: '/etcdserverpb.Auth/RoleGrantPermission',
    base: rec({
      name: nameArb,
      perm: rec({
        permType: fc.constantFrom<J>('READ', 'WRITE', 'READWRITE', 2),
        key: keyArb,
        range_end: endArb,
      }),
    }),
    weight: 1,
  },
  {
    gateway: '/v3/auth/role/revoke',
    grpc: '/etcdserverpb.Auth/RoleRevokePermission',
    base: rec({ role: nameArb, key: keyArb, range_end: endArb }),
    weight: 1,
  },
  {
    gateway: '/v3/maintenance/alarm',
    grpc: '/etcdserverpb.Maintenance/Alarm',
    base: rec({
      action: fc.constantFrom<J>('GET', 'ACTIVATE', 'DEACTIVATE'),
      memberID: fakeIdArb,
      alarm: fc.constantFrom<J>('NONE', 'NOSPACE', 'CORRUPT'),
    }),
    exclusive: true,
    weight: 1,
  },
  { gateway: '/v3/maintenance/status', grpc: '/etcdserverpb.Maintenance/Status', base: empty, weight: 2 },
  {
    gateway: '/v3/maintenance/defragment',
    grpc: '/etcdserverpb.Maintenance/Defragment',
    base: empty,
    exclusive: true,
    weight: 1,
  },
  { gateway: '/v3/maintenance/hash', grpc: '/etcdserverpb.Maintenance/Hash', base: empty, weight: 1 },
  {
    gateway: '/v3/maintenance/hashkv',
    grpc: '/etcdserverpb.Maintenance/HashKV',
    base: rec({ revision: revArb }),
    weight: 2,
  },
  {
    gateway: '/v3/maintenance/snapshot',
    grpc: '/etcdserverpb.Maintenance/Snapshot',
    stream: true,
    exclusive: true,
    base: empty,
    weight: 1,
  },
  {
    gateway: '/v3/maintenance/transfer-leadership',
    grpc: '/etcdserverpb.Maintenance/MoveLeader',
    base: rec({ targetID: fakeIdArb }),
    weight: 1,
  },
  {
    grpc: '/etcdserverpb.Maintenance/Downgrade',
    base: rec({
      action: fc.constantFrom<J>('VALIDATE', 'ENABLE', 'CANCEL'),
      version: fc.constantFrom<J>('3.4.0', 'x'),
    }),
    weight: 1,
  },
  {
    gateway: '/v3/lock/lock',
    grpc: '/v3lockpb.Lock/Lock',
    base: rec({ name: keyArb, lease: leaseArb }),
    mayBlock: true,
    weight: 2,
  },
  { gateway: '/v3/lock/unlock', grpc: '/v3lockpb.Lock/Unlock', base: rec({ key: keyArb }), weight: 2 },
  {
    gateway: '/v3/election/campaign',
    grpc: '/v3electionpb.Election/Campaign',
    base: rec({ name: keyArb, lease: leaseArb, value: valueArb }),
    mayBlock: true,
    weight: 2,
  },
  {
    gateway: '/v3/election/proclaim',
    grpc: '/v3electionpb.Election/Proclaim',
    base: rec({ leader: leaderKeyArb, value: valueArb }),
    weight: 1,
  },
  {
    gateway: '/v3/election/leader',
    grpc: '/v3electionpb.Election/Leader',
    base: rec({ name: keyArb }),
    weight: 1,
  },
  {
    gateway: '/v3/election/observe',
    grpc: '/v3electionpb.Election/Observe',
    stream: true,
    base: rec({ name: keyArb }),
    weight: 1,
  },
  {
    gateway: '/v3/election/resign',
    grpc: '/v3electionpb.Election/Resign',
    base: rec({ leader: leaderKeyArb }),
    weight: 1,
  },
];

/** Routes the fuzzer must never send (see the header), as gateway paths and gRPC paths. */
export const EXCLUDED = ['/v3/auth/enable', '/etcdserverpb.Auth/AuthEnable'];

// ---------------------------------------------------------------------------------------------------------
// Codecs (gRPC method path → request codec) from the generated definitions
// ---------------------------------------------------------------------------------------------------------

interface Codec {
  fromJSON(o: unknown): unknown;
  encode(m: unknown): { finish(): Uint8Array };
}
interface MethodDef {
  name: string;
  requestType: unknown;
  requestStream: boolean;
  responseStream: boolean;
}
const CODECS = new Map<string, Codec>();
for (const def of [
  KVDefinition,
  WatchDefinition,
  LeaseDefinition,
  ClusterDefinition,
  MaintenanceDefinition,
  AuthDefinition,
  LockDefinition,
  ElectionDefinition,
] as unknown as { fullName: string; methods: Record<string, MethodDef> }[])
  for (const m of Object.values(def.methods))
    CODECS.set(`/${def.fullName}/${m.name}`, m.requestType as Codec);

function encodeJson(grpcPath: string, v: J): Buffer {
  const codec = CODECS.get(grpcPath);
  if (!codec) throw new Error(`no codec for ${grpcPath}`);
  return Buffer.from(codec.encode(codec.fromJSON(JSON.parse(serialize(v)))).finish());
}

// ---------------------------------------------------------------------------------------------------------
// Gateway mutations
// ---------------------------------------------------------------------------------------------------------

export const GATEWAY_MUTATIONS = [
  'valid',
  'wrong-type',
  'int-range',
  'bad-base64',
  'bad-enum',
  'unknown-field',
  'duplicate-key',
  'deep-nesting',
  'nested-txn',
  'huge',
  'bad-utf8',
  'trailing-garbage',
  'empty-body',
  'text-edit',
  'multi-value',
  'wrong-method',
  'path-alias',
  'headers',
  'raw-socket',
] as const;
type GatewayMutation = (typeof GATEWAY_MUTATIONS)[number];
const GATEWAY_WEIGHTS: Record<GatewayMutation, number> = {
  valid: 4,
  'wrong-type': 10,
  'int-range': 10,
  'bad-base64': 6,
  'bad-enum': 3,
  'unknown-field': 4,
  'duplicate-key': 2,
  'deep-nesting': 4,
  'nested-txn': 3,
  huge: 1,
  'bad-utf8': 4,
  'trailing-garbage': 4,
  'empty-body': 2,
  'text-edit': 8,
  'multi-value': 3,
  'wrong-method': 2,
  'path-alias': 2,
  headers: 3,
  'raw-socket': 3,
};

const WRONG_TYPED: J[] = [
  'str',
  '',
  0,
  1,
  -1,
  1.5,
  true,
  false,
  null,
  [],
  [1, 'a'],
  {},
  { a: 1 },
  'YQ==',
  '0x10',
  'NaN',
  'Infinity',
  ' 1',
  '+1',
  '１',
  [[]],
  [{}],
  [null],
];
const BAD_INTS: J[] = [
  new Raw('1e30'),
  '1e30',
  new Raw('9223372036854775808'),
  '9223372036854775808',
  new Raw('18446744073709551616'),
  '18446744073709551616',
  '18446744073709551615',
  '99999999999999999999',
  new Raw('-1'),
  '-1',
  new Raw('-9223372036854775809'),
  '-9223372036854775808',
  new Raw('1.5'),
  '1.5',
  new Raw('1e-7'),
  new Raw('-0'),
  new Raw('1E400'),
  new Raw('-1e400'),
  new Raw('1e308'),
  new Raw('9007199254740993'),
  new Raw('123456789012345678901234567890'),
  new Raw('4.5e15'),
  '0x1F',
  '1_000',
  '',
  ' ',
  'abc',
  '1e3',
  '١',
];
const INT_FIELDS = [
  'revision',
  'limit',
  'lease',
  'ID',
  'TTL',
  'min_mod_revision',
  'max_create_revision',
  'start_revision',
  'watch_id',
  'version',
  'create_revision',
  'mod_revision',
  'memberID',
  'targetID',
  'rev',
];
const BAD_B64: J[] = [
  '***',
  'YQ',
  'YWI',
  'YQ=',
  'YQ===',
  '-_-_',
  '_w',
  '!!!!',
  'YQ==YQ==',
  'Y Q = =',
  '%59%51',
  '\u0000',
  'YQ==\n',
  '====',
  'A',
  'data:;base64,YQ==',
  'é',
  '\ud800',
  '=YQ=',
  'YQ==\u0000',
];
const BYTES_FIELDS = ['key', 'range_end', 'value', 'name'];
const ENUM_FIELDS = [
  'sort_order',
  'sort_target',
  'result',
  'target',
  'action',
  'alarm',
  'permType',
  'filters',
];
const BAD_ENUMS: J[] = ['NOPE', 99, -1, 2 ** 31, 2 ** 32, 1.5, 'none', 'ASCEND ', null, '1', [], true];
const ODD_FIELDS = [
  'unknown',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'Key',
  'KEY',
  'key ',
  'rangeEnd',
  'range-end',
  'header',
  '',
  '\u0000',
  'x'.repeat(1000),
];
const GARBAGE_TAILS = [
  'x',
  '}',
  ']',
  ',',
  '{',
  '{}',
  'null',
  '"',
  '\u0000',
  ' garbage',
  '\n\n{',
  '[]',
  '1',
  '}}}}',
];
const EMPTY_BODIES = [
  '',
  ' ',
  '\n',
  'null',
  '[]',
  '""',
  '0',
  'true',
  '{',
  '}',
  '[{}]',
  '{}',
  '\ufeff{}',
  '{}{}',
];
const BAD_UTF8: number[][] = [
  [0xff],
  [0xc3],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xc0, 0x80],
  [0xfe, 0xfe],
  [0xe2, 0x82],
  [0x80],
];
const TEXT_CHARS = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ':',
  ',',
  '\\',
  '\u0000',
  '-',
  'e',
  '.',
  '9',
  ' ',
  '\\u',
  '\\ud800',
];

function mutateJson(
  kind: GatewayMutation,
  base: J,
  rng: Rng,
  route: RouteSpec,
  limits: Limits,
): { text: string | Buffer; detail: string; exclusive?: boolean } {
  const all = nodes(base);
  switch (kind) {
    case 'valid':
      return { text: serialize(base), detail: 'unchanged' };
    case 'wrong-type': {
      const at = all.length > 0 && rng() < 0.85 ? pick(rng, all).path : [];
      const cur = at.length ? getAt(base, at) : base;
      const choices = WRONG_TYPED.filter((x) => typeOf(x) !== typeOf(cur));
      const v = pick(rng, choices);
      return { text: serialize(setAt(base, at, v)), detail: `${show(at)} → ${brief(v)}` };
    }
    case 'int-range': {
      const ints = all.filter(
        (n) => typeof n.value === 'number' || (typeof n.value === 'string' && /^-?\d+$/.test(n.value)),
      );
      const v = pick(rng, BAD_INTS);
      if (ints.length > 0 && rng() < 0.8) {
        const at = pick(rng, ints).path;
        return { text: serialize(setAt(base, at, v)), detail: `${show(at)} → ${brief(v)}` };
      }
      const objs = objects(base);
      const at = [...pick(rng, objs.length ? objs : [[]]), pick(rng, INT_FIELDS)];
      return { text: serialize(setAt(isObj(base) ? base : {}, at, v)), detail: `${show(at)} → ${brief(v)}` };
    }
    case 'bad-base64': {
      const strs = all.filter((n) => typeof n.value === 'string');
      const v = pick(rng, BAD_B64);
      if (strs.length > 0 && rng() < 0.8) {
        const at = pick(rng, strs).path;
        return { text: serialize(setAt(base, at, v)), detail: `${show(at)} → ${brief(v)}` };
      }
      const objs = objects(base);
      const at = [...pick(rng, objs.length ? objs : [[]]), pick(rng, BYTES_FIELDS)];
      return { text: serialize(setAt(isObj(base) ? base : {}, at, v)), detail: `${show(at)} → ${brief(v)}` };
    }
    case 'bad-enum': {
      const enums = all.filter((n) => ENUM_FIELDS.includes(String(n.path[n.path.length - 1])));
      const v = pick(rng, BAD_ENUMS);
      const objs = objects(base);
      const at =
        enums.length > 0 && rng() < 0.7
          ? pick(rng, enums).path
          : [...pick(rng, objs.length ? objs : [[]]), pick(rng, ENUM_FIELDS)];
      return { text: serialize(setAt(isObj(base) ? base : {}, at, v)), detail: `${show(at)} → ${brief(v)}` };
    }
    case 'unknown-field': {
      const objs = objects(base);
      const obj = pick(rng, objs.length ? objs : [[]]);
      const name = pick(rng, ODD_FIELDS);
      const v = pick(rng, WRONG_TYPED);
      return {
        text: serialize(setAt(isObj(base) ? base : {}, [...obj, name], v)),
        detail: `${show([...obj, name])} = ${brief(v)}`,
      };
    }
    case 'duplicate-key': {
      const text = serialize(base);
      const name = pick(rng, [...BYTES_FIELDS, ...INT_FIELDS.slice(0, 5), 'success', 'create_request']);
      const v = pick(rng, [...WRONG_TYPED, ...BAD_INTS]);
      const dup = `${JSON.stringify(name)}:${serialize(v)}`;
      const out = text === '{}' ? `{${dup},${dup}}` : `{${dup},${text.slice(1, -1)},${dup}}`;
      return { text: out, detail: `${name} twice (= ${brief(v)})` };
    }
    case 'deep-nesting':
      return deepNest(base, rng, route);
    case 'nested-txn':
      return nestedTxnJson(rng);
    case 'huge':
      return { ...huge(base, rng, route, limits), exclusive: true };
    case 'bad-utf8': {
      const text = Buffer.from(serialize(base), 'utf8');
      const bad = Buffer.from(pick(rng, BAD_UTF8));
      // Inside a string when there is one (after an opening quote), else anywhere.
      const quotes: number[] = [];
      for (let i = 0; i < text.length; i++) if (text[i] === 0x22) quotes.push(i + 1);
      const at = quotes.length > 0 && rng() < 0.8 ? pick(rng, quotes) : below(rng, text.length + 1);
      return {
        text: Buffer.concat([text.subarray(0, at), bad, text.subarray(at)]),
        detail: `bytes ${bad.toString('hex')} at ${at}`,
      };
    }
    case 'trailing-garbage': {
      const tail = pick(rng, GARBAGE_TAILS);
      return { text: serialize(base) + tail, detail: `+ ${JSON.stringify(tail)}` };
    }
    case 'empty-body': {
      const body = pick(rng, EMPTY_BODIES);
      return { text: body, detail: JSON.stringify(body) };
    }
    case 'text-edit':
      return textEdit(serialize(base), rng);
    case 'multi-value': {
      const n = pick(rng, [2, 3, 10, 100]);
      const sep = pick(rng, ['', '\n', ' ', ',']);
      return {
        text: Array.from({ length: n }, () => serialize(base)).join(sep),
        detail: `${n} values, sep ${JSON.stringify(sep)}`,
      };
    }
    default:
      // wrong-method, path-alias, headers, raw-socket: the body is valid, the envelope is not.
      return { text: serialize(base), detail: '' };
  }
}

const typeOf = (v: J): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Raw ? 'raw' : typeof v;

/** Depths around the limits: ts-proto's old 100 nested messages (50 levels), --max-txn-ops 128, 498. */
const TXN_DEPTHS = [10, 49, 50, 51, 100, 127, 128, 200, 498, 499, 1000, 10_000];

/** A valid txn nested `depth` deep through success (or failure) ops; the innermost puts a key. */
function nestedTxnJson(rng: Rng): { text: string; detail: string; exclusive?: boolean } {
  const depth = pick(rng, TXN_DEPTHS);
  const key = JSON.stringify(b64(`fuzz/deep${depth}`));
  const open = pick(rng, [
    '{"success":[{"request_txn":',
    '{"success":[{"requestTxn":',
    '{"failure":[{"request_txn":',
    '{"compare":[{"key":"YQ==","target":"VERSION","result":"LESS","version":"1"}],"success":[{"request_txn":',
  ]);
  const inner = `{"success":[{"request_put":{"key":${key},"value":"eA=="}}]}`;
  return {
    text: open.repeat(depth) + inner + '}]}'.repeat(depth),
    detail: `txn nested ${depth} deep (${open.slice(0, 30)}…)`,
    exclusive: depth >= 10_000,
  };
}

function deepNest(
  base: J,
  rng: Rng,
  route: RouteSpec,
): { text: string; detail: string; exclusive?: boolean } {
  const depth = pick(rng, [50, 200, 1000, 10_000, 100_000]);
  const style =
    route.grpc === '/etcdserverpb.KV/Txn' && rng() < 0.6 ? 'txn' : pick(rng, ['array', 'object', 'mixed']);
  if (style === 'txn') {
    // Valid structure: each level a success op holding the next txn; the innermost puts a key.
    const key = JSON.stringify(b64(`fuzz/deep${depth}`));
    const open = pick(rng, [
      '{"success":[{"request_txn":',
      '{"success":[{"requestTxn":',
      '{"failure":[{"request_txn":',
    ]);
    const close = '}]}';
    const inner = `{"success":[{"request_put":{"key":${key},"value":"eA=="}}]}`;
    return {
      text: open.repeat(depth) + inner + close.repeat(depth),
      detail: `txn nested ${depth} deep (${open})`,
      exclusive: depth >= 10_000,
    };
  }
  const [o, c] = style === 'array' ? ['[', ']'] : style === 'object' ? ['{"a":', '}'] : ['[{"a":', '}]'];
  const nest = new Raw(`${o.repeat(depth)}1${c.repeat(depth)}`);
  const all = nodes(base);
  const at = all.length > 0 && rng() < 0.7 ? pick(rng, all).path : [];
  const text = at.length === 0 ? nest.text : serialize(setAt(base, at, nest));
  return { text, detail: `${style} nest ${depth} deep at ${show(at)}`, exclusive: depth >= 10_000 };
}

function huge(base: J, rng: Rng, route: RouteSpec, limits: Limits): { text: string; detail: string } {
  const what = pick(rng, [
    'over-body',
    'at-body',
    'over-grpc',
    'over-request',
    'whitespace',
    'many-ops',
    'long-array',
    'long-key',
  ] as const);
  const bytesOf = (n: number) => 'eHh4'.repeat(Math.ceil(n / 3)).slice(0, Math.ceil((n * 4) / 3 / 4) * 4);
  switch (what) {
    case 'over-body':
    case 'at-body': {
      // A body just over (or exactly at) the gateway's raw body limit.
      const target = what === 'over-body' ? limits.body + 1 + below(rng, 4096) : limits.body;
      const head = `{"key":"${b64('fuzz/huge')}","value":"`;
      const pad = Math.max(0, target - head.length - 2);
      return {
        text: `${head}${'A'.repeat(pad)}"}`,
        detail: `${what}: body ${target} bytes (limit ${limits.body})`,
      };
    }
    case 'over-grpc': {
      // Under the body limit, over the protobuf limit once decoded.
      const n = limits.grpc + 1 + below(rng, 64);
      return {
        text: `{"key":"${b64('fuzz/huge')}","value":"${bytesOf(n)}"}`,
        detail: `value of ~${n} bytes (gRPC limit ${limits.grpc})`,
      };
    }
    case 'over-request': {
      const n = limits.request + 1 + below(rng, 64);
      return {
        text: `{"key":"${b64('fuzz/huge')}","value":"${bytesOf(n)}"}`,
        detail: `value of ~${n} bytes (--max-request-bytes ${limits.request})`,
      };
    }
    case 'whitespace': {
      const n = limits.body + 1;
      return { text: `${' '.repeat(n - 2)}{}`, detail: `${n} bytes of whitespace` };
    }
    case 'many-ops': {
      const n = pick(rng, [129, 1000, 20_000]);
      const op = `{"request_put":{"key":"${b64('fuzz/ops')}","value":"eA=="}}`;
      return {
        text: `{"success":[${Array(n).fill(op).join(',')}]}`,
        detail: `txn with ${n} ops (${route.gateway})`,
      };
    }
    case 'long-array': {
      const n = pick(rng, [10_000, 100_000]);
      return { text: `{"compare":[${Array(n).fill('{}').join(',')}]}`, detail: `${n} empty compares` };
    }
    case 'long-key': {
      const n = pick(rng, [limits.request - 100, limits.request + 100, 200_000]);
      const obj = isObj(base) ? base : {};
      return { text: serialize({ ...obj, key: bytesOf(n) }), detail: `key of ~${n} bytes` };
    }
  }
}

function textEdit(text: string, rng: Rng): { text: string; detail: string } {
  const n = text.length;
  const at = below(rng, n + 1);
  switch (pick(rng, ['truncate', 'delete', 'insert', 'duplicate', 'swap', 'replace'] as const)) {
    case 'truncate':
      return { text: text.slice(0, at), detail: `truncated at ${at}/${n}` };
    case 'delete': {
      const len = 1 + below(rng, 4);
      return { text: text.slice(0, at) + text.slice(at + len), detail: `deleted ${len} at ${at}` };
    }
    case 'insert': {
      const c = pick(rng, TEXT_CHARS);
      return {
        text: text.slice(0, at) + c + text.slice(at),
        detail: `inserted ${JSON.stringify(c)} at ${at}`,
      };
    }
    case 'duplicate': {
      const len = 1 + below(rng, Math.max(1, n - at));
      return { text: text.slice(0, at + len) + text.slice(at), detail: `duplicated ${len} at ${at}` };
    }
    case 'swap': {
      const j = below(rng, n + 1);
      const [x, y] = [Math.min(at, j), Math.max(at, j)];
      if (y >= n) return { text, detail: 'swap (no-op)' };
      const chars = [...text];
      [chars[x], chars[y]] = [chars[y]!, chars[x]!];
      return { text: chars.join(''), detail: `swapped ${x} and ${y}` };
    }
    case 'replace': {
      const c = pick(rng, TEXT_CHARS);
      return {
        text: text.slice(0, at) + c + text.slice(at + 1),
        detail: `replaced ${at} by ${JSON.stringify(c)}`,
      };
    }
  }
}

const ALIASES = [
  (p: string) => p.replace('/v3/', '/v3beta/'),
  (p: string) => p.replace('/v3/', '/v3alpha/'),
  (p: string) => `${p}?x=1`,
  (p: string) => `${p}/`,
  (p: string) => `/${p}`,
  (p: string) => p.toUpperCase(),
  (p: string) => `${p}%00`,
  (p: string) => `${p}/../range`,
  (_: string) => '/v3/nope',
  (_: string) => '/',
  (p: string) => `${p}?${'q'.repeat(9000)}`,
];
const METHODS = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const HEADER_SETS: Record<string, string>[] = [
  { 'content-type': 'text/plain' },
  { 'content-type': 'application/grpc' },
  { 'grpc-metadata-hasleader': 'true' },
  { authorization: 'garbage' },
  { authorization: 'a'.repeat(8000) },
  { 'content-encoding': 'gzip' },
  { 'transfer-encoding': 'chunked' },
  { expect: '100-continue' },
  { 'grpc-metadata-hasleader': 'true', authorization: '' },
];

/** Raw byte streams at the client port: the first bytes decide gRPC or HTTP/1 (client-port.ts). */
function rawSocket(
  route: RouteSpec,
  body: string,
  rng: Rng,
): { bytes: Buffer; detail: string; ending: Ending } {
  const p = route.gateway ?? '/v3/kv/range';
  const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  const plans: (() => { bytes: Buffer; detail: string; ending: Ending })[] = [
    () => ({ bytes: Buffer.from('P'), detail: "'P' then end", ending: 'end' }),
    () => ({ bytes: Buffer.from('PR'), detail: "'PR' then reset", ending: 'wait-cancel' }),
    () => ({ bytes: Buffer.from('PRI'), detail: "'PRI' then end", ending: 'end' }),
    () => ({ bytes: Buffer.alloc(0), detail: 'connect, send nothing, end', ending: 'end' }),
    () => ({ bytes: Buffer.alloc(0), detail: 'connect, send nothing, reset', ending: 'wait-cancel' }),
    () => ({ bytes: Buffer.from(preface), detail: 'HTTP/2 preface then end', ending: 'end' }),
    () => ({
      bytes: Buffer.concat([Buffer.from(preface), randomish(rng, 64)]),
      detail: 'HTTP/2 preface + garbage frames',
      ending: 'wait-end',
    }),
    () => ({
      // A SETTINGS frame whose length claims 16 MiB.
      bytes: Buffer.concat([Buffer.from(preface), Buffer.from([0xff, 0xff, 0xff, 0x04, 0, 0, 0, 0, 0])]),
      detail: 'HTTP/2 preface + SETTINGS of length 2^24-1',
      ending: 'wait-cancel',
    }),
    () => ({ bytes: Buffer.from('PRX * HTTP/2.0\r\n\r\n'), detail: 'almost a preface', ending: 'wait-end' }),
    () => {
      const [name, frames] = pick(rng, H2_FRAMES);
      return {
        bytes: Buffer.concat([Buffer.from(preface), h2Frame(4, 0, 0, Buffer.alloc(0)), ...frames]),
        detail: `HTTP/2 preface, SETTINGS, then ${name}`,
        ending: pick(rng, ['wait-end', 'wait-cancel'] as const),
      };
    },
    () => ({ bytes: randomish(rng, 1 + below(rng, 256)), detail: 'random bytes', ending: 'wait-end' }),
    () => ({
      bytes: Buffer.from(
        `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 100}\r\n\r\n${body}`,
      ),
      detail: 'Content-Length 100 over the body, then end',
      ending: 'wait-end',
    }),
    () => ({
      bytes: Buffer.from(
        `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length + 100}\r\n\r\n${body}`,
      ),
      detail: 'Content-Length 100 over the body, then reset',
      ending: 'wait-cancel',
    }),
    () => ({
      bytes: Buffer.from(`POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n${body}`),
      detail: 'Content-Length -1',
      ending: 'wait-end',
    }),
    () => ({
      bytes: Buffer.from(
        `POST ${p} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
      ),
      detail: 'bad chunk size',
      ending: 'wait-end',
    }),
    () => ({
      bytes: Buffer.from(
        `POST ${p} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n${body}`,
      ),
      detail: 'chunk of 2^64-1 bytes',
      ending: 'wait-cancel',
    }),
    () => ({
      bytes: Buffer.from(`POST ${p} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`),
      detail: '70 KB header',
      ending: 'wait-end',
    }),
    () => ({
      bytes: Buffer.from(
        `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
      detail: 'two pipelined requests',
      ending: 'wait-end',
    }),
    () => ({
      bytes: Buffer.from(`POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
      detail: 'request, then reset before the answer',
      ending: 'wait-cancel',
    }),
    () => ({
      bytes: Buffer.from(`GARBAGE ${p} HTTP/9.9\r\n\r\n`),
      detail: 'bad request line',
      ending: 'wait-end',
    }),
    () => ({
      bytes: Buffer.from(`POST ${p} HTTP/1.1\r\n`),
      detail: 'headers never end',
      ending: 'wait-cancel',
    }),
  ];
  return pick(rng, plans)();
}

/** An HTTP/2 frame: 3-byte length, type, flags, stream id, payload. */
function h2Frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer,
  length = payload.length,
): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** A gRPC request's HEADERS block, HPACK literal without indexing (RFC 7541 6.2.2), no Huffman. */
function hpack(headers: [string, string][]): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([Math.min(s.length, 127)]), Buffer.from(s)]);
  return Buffer.concat(headers.map(([k, v]) => Buffer.concat([Buffer.from([0]), str(k), str(v)])));
}
const GRPC_HEADERS = hpack([
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/etcdserverpb.KV/Range'],
  [':authority', 'x'],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** HTTP/2 frames a client should never send (after the preface and an empty SETTINGS). */
const H2_FRAMES: [string, Buffer[]][] = [
  ['HEADERS with a bad HPACK index', [h2Frame(1, 4, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))]],
  ['HEADERS on stream 0', [h2Frame(1, 4, 0, GRPC_HEADERS)]],
  ['WINDOW_UPDATE of 0', [h2Frame(8, 0, 0, u32(0))]],
  ['WINDOW_UPDATE past 2^31-1', [h2Frame(8, 0, 0, u32(0x7fffffff)), h2Frame(8, 0, 0, u32(0x7fffffff))]],
  ['RST_STREAM on stream 0', [h2Frame(3, 0, 0, u32(8))]],
  ['SETTINGS_INITIAL_WINDOW_SIZE 2^31', [h2Frame(4, 0, 0, Buffer.from([0, 4, 0x80, 0, 0, 0]))]],
  ['SETTINGS_MAX_FRAME_SIZE 1', [h2Frame(4, 0, 0, Buffer.from([0, 5, 0, 0, 0, 1]))]],
  ['SETTINGS of 5 bytes', [h2Frame(4, 0, 0, Buffer.alloc(5))]],
  ['500 PINGs', Array.from({ length: 500 }, () => h2Frame(6, 0, 0, Buffer.alloc(8)))],
  ['DATA on an idle stream', [h2Frame(0, 1, 3, Buffer.from([0, 0, 0, 0, 0]))]],
  [
    'a gRPC Range whose DATA says 1 GiB',
    [h2Frame(1, 4, 1, GRPC_HEADERS), h2Frame(0, 0, 1, Buffer.from([0, 0x40, 0, 0, 0, 0x0a]))],
  ],
  [
    'a gRPC Range, then DATA after END_STREAM',
    [
      h2Frame(1, 4, 1, GRPC_HEADERS),
      h2Frame(0, 1, 1, Buffer.from([0, 0, 0, 0, 3, 0x0a, 1, 0x61])),
      h2Frame(0, 1, 1, Buffer.from([0, 0, 0, 0, 0])),
    ],
  ],
  [
    'a gRPC Range with padding longer than its frame',
    [h2Frame(1, 4, 1, GRPC_HEADERS), h2Frame(0, 0x09, 1, Buffer.from([200, 0, 0, 0, 0, 0]))],
  ],
  [
    '1000 streams opened and reset',
    Array.from({ length: 1000 }, (_, i) => [
      h2Frame(1, 4, 2 * i + 1, GRPC_HEADERS),
      h2Frame(3, 0, 2 * i + 1, u32(8)),
    ]).flat(),
  ],
  ['CONTINUATION without HEADERS', [h2Frame(9, 4, 1, Buffer.from([0x82]))]],
  ['a frame of unknown type 0xee', [h2Frame(0xee, 0, 0, Buffer.alloc(16))]],
];

function randomish(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = below(rng, 256);
  return b;
}

function gatewayCase(
  route: RouteSpec,
  base: J,
  kind: GatewayMutation,
  seed: number,
  member: number,
  limits: Limits,
): FuzzCase {
  const rng = prng(seed);
  const routePath = route.gateway!;
  const { text, detail, exclusive } = mutateJson(kind, base, rng, route, limits);
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const common = {
    target: 'gateway' as const,
    route: routePath,
    mutation: kind,
    member,
    ending: 'end' as Ending,
    exclusive: exclusive || route.exclusive,
    stream: route.stream,
    mayBlock: route.mayBlock,
  };
  switch (kind) {
    case 'wrong-method': {
      const method = pick(rng, METHODS);
      return {
        ...common,
        via: 'http',
        path: routePath,
        method,
        body: rng() < 0.5 ? body : Buffer.alloc(0),
        detail: method,
      };
    }
    case 'path-alias': {
      const p = pick(rng, ALIASES)(routePath);
      return { ...common, via: 'http', path: p, method: 'POST', body, detail: `path ${brief(p)}` };
    }
    case 'headers': {
      const headers = pick(rng, HEADER_SETS);
      return {
        ...common,
        via: 'http',
        path: routePath,
        method: 'POST',
        headers,
        body,
        detail: JSON.stringify(headers).slice(0, 80),
      };
    }
    case 'nested-txn':
      return {
        ...common,
        via: 'http',
        path: '/v3/kv/txn',
        route: '/v3/kv/txn',
        method: 'POST',
        body,
        detail,
      };
    case 'raw-socket': {
      const s = rawSocket(route, body.toString('utf8'), rng);
      return {
        ...common,
        via: 'socket',
        path: '(socket)',
        body: s.bytes,
        ending: s.ending,
        detail: s.detail,
        stream: false,
      };
    }
    default:
      return { ...common, via: 'http', path: routePath, method: 'POST', body, detail };
  }
}

// ---------------------------------------------------------------------------------------------------------
// gRPC mutations (protobuf bytes and gRPC framing)
// ---------------------------------------------------------------------------------------------------------

export const GRPC_MUTATIONS = [
  'valid',
  'bitflip',
  'truncate',
  'insert',
  'delete',
  'duplicate',
  'splice',
  'varint',
  'length-prefix',
  'wire-type',
  'unknown-field',
  'deep-group',
  'nested-txn',
  'oversized',
  'frame-compressed',
  'frame-declared-longer',
  'frame-declared-shorter',
  'frame-huge-length',
  'frame-two-messages',
  'frame-empty',
  'frame-partial-header',
  'headers',
  'unknown-method',
] as const;
type GrpcMutation = (typeof GRPC_MUTATIONS)[number];
const GRPC_WEIGHTS: Record<GrpcMutation, number> = {
  valid: 4,
  bitflip: 10,
  truncate: 6,
  insert: 6,
  delete: 4,
  duplicate: 4,
  splice: 3,
  varint: 6,
  'length-prefix': 8,
  'wire-type': 5,
  'unknown-field': 3,
  'deep-group': 2,
  'nested-txn': 4,
  oversized: 1,
  'frame-compressed': 3,
  'frame-declared-longer': 3,
  'frame-declared-shorter': 2,
  'frame-huge-length': 2,
  'frame-two-messages': 2,
  'frame-empty': 2,
  'frame-partial-header': 1,
  headers: 3,
  'unknown-method': 1,
};

function varint(n: bigint): Buffer {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
const tagOf = (field: number, wt: number): Buffer => varint(BigInt(field) * 8n + BigInt(wt));
const lenField = (field: number, bytes: Buffer): Buffer =>
  Buffer.concat([tagOf(field, 2), varint(BigInt(bytes.length)), bytes]);

interface WireField {
  field: number;
  wt: number;
  start: number;
  /** Where the value (or, for LEN, its length varint) starts. */
  valueAt: number;
  /** LEN only: where the payload starts. */
  payloadAt?: number;
  end: number;
}

function readVarint(b: Buffer, at: number): [bigint, number] | undefined {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= b.length) return undefined;
    const x = b[at + i]!;
    v |= BigInt(x & 0x7f) << BigInt(7 * i);
    if (!(x & 0x80)) return [v, at + i + 1];
  }
  return undefined;
}

/** The top-level fields of a message, as far as they parse. */
function wireFields(b: Buffer): WireField[] {
  const out: WireField[] = [];
  let at = 0;
  while (at < b.length) {
    const t = readVarint(b, at);
    if (!t) break;
    const field = Number(t[0] >> 3n);
    const wt = Number(t[0] & 7n);
    const valueAt = t[1];
    let end: number;
    let payloadAt: number | undefined;
    if (wt === 0) {
      const v = readVarint(b, valueAt);
      if (!v) break;
      end = v[1];
    } else if (wt === 1) end = valueAt + 8;
    else if (wt === 5) end = valueAt + 4;
    else if (wt === 2) {
      const l = readVarint(b, valueAt);
      if (!l) break;
      payloadAt = l[1];
      end = payloadAt + Number(l[0]);
    } else break;
    if (end > b.length) break;
    out.push({ field, wt, start: at, valueAt, payloadAt, end });
    at = end;
  }
  return out;
}

/** Every field at any depth (LEN payloads that parse as messages are descended into). */
function allWireFields(b: Buffer, offset = 0, depth = 0, out: WireField[] = []): WireField[] {
  for (const f of wireFields(b)) {
    const abs: WireField = {
      ...f,
      start: f.start + offset,
      valueAt: f.valueAt + offset,
      payloadAt: f.payloadAt === undefined ? undefined : f.payloadAt + offset,
      end: f.end + offset,
    };
    out.push(abs);
    if (f.wt === 2 && f.payloadAt !== undefined && depth < 8) {
      const payload = b.subarray(f.payloadAt, f.end);
      const inner = wireFields(payload);
      if (inner.length > 0 && inner[inner.length - 1]!.end === payload.length)
        allWireFields(payload, f.payloadAt + offset, depth + 1, out);
    }
  }
  return out;
}

const EXTREME_VARINTS = [2n ** 63n, 2n ** 64n - 1n, -1n, 2n ** 63n - 1n, 2n ** 31n, 2n ** 32n, -(2n ** 63n)];
const HUGE_LENGTHS = [2n ** 31n - 1n, 2n ** 32n - 1n, 2n ** 63n, 2n ** 64n - 1n, 0x7fffffffn + 1n];

/** A valid TxnRequest nested `depth` deep (success → request_txn), built iteratively. */
export function nestedTxn(depth: number, innerKey = 'fuzz/nested'): Buffer {
  // PutRequest{key, value} in RequestOp.request_put (2), in TxnRequest.success (2).
  const put = Buffer.concat([lenField(1, Buffer.from(innerKey)), lenField(2, Buffer.from('x'))]);
  const inner = lenField(2, lenField(2, put));
  // Each level is a prefix: success (2) { request_txn (4) { <inner> } }. Lengths inside out,
  // then one copy (concatenating level by level would be quadratic).
  const heads: Buffer[] = [];
  let len = inner.length;
  for (let i = 0; i < depth; i++) {
    const opLen = varint(BigInt(len));
    const op = 1 + opLen.length + len;
    const txnLen = varint(BigInt(op));
    heads.push(Buffer.concat([tagOf(2, 2), txnLen, tagOf(4, 2), opLen]));
    len = 1 + txnLen.length + op;
  }
  return Buffer.concat([...heads.reverse(), inner]);
}

function frame(msg: Buffer, flag = 0, declared = msg.length): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(declared >>> 0, 1);
  return Buffer.concat([h, msg]);
}

function grpcCase(
  route: RouteSpec,
  base: J,
  kind: GrpcMutation,
  seed: number,
  member: number,
  limits: Limits,
  other: Buffer,
): FuzzCase {
  const rng = prng(seed);
  const valid = encodeJson(route.grpc, base);
  let msg = valid;
  let detail = '';
  let body: Buffer | undefined;
  let ending: Ending = 'end';
  let headers: Record<string, string> | undefined;
  let p = route.grpc;
  let exclusive = route.exclusive;
  const fields = allWireFields(valid);
  switch (kind) {
    case 'valid':
      detail = 'unchanged';
      break;
    case 'bitflip': {
      msg = Buffer.from(valid);
      const n = 1 + below(rng, 4);
      const at: number[] = [];
      for (let i = 0; i < n && msg.length > 0; i++) {
        const bit = below(rng, msg.length * 8);
        msg[bit >> 3]! ^= 1 << (bit & 7);
        at.push(bit);
      }
      detail = `bits ${at.join(',')}`;
      break;
    }
    case 'truncate': {
      const at = below(rng, Math.max(1, valid.length));
      msg = valid.subarray(0, at);
      detail = `truncated at ${at}/${valid.length}`;
      break;
    }
    case 'insert': {
      const at = below(rng, valid.length + 1);
      const ins =
        rng() < 0.5
          ? randomish(rng, 1 + below(rng, 8))
          : Buffer.from([pick(rng, [0xff, 0x80, 0x0a, 0x12, 0x08, 0x00])]);
      msg = Buffer.concat([valid.subarray(0, at), ins, valid.subarray(at)]);
      detail = `inserted ${ins.toString('hex')} at ${at}`;
      break;
    }
    case 'delete': {
      const at = below(rng, Math.max(1, valid.length));
      const len = 1 + below(rng, 4);
      msg = Buffer.concat([valid.subarray(0, at), valid.subarray(at + len)]);
      detail = `deleted ${len} at ${at}`;
      break;
    }
    case 'duplicate': {
      const at = below(rng, valid.length + 1);
      const len = 1 + below(rng, Math.max(1, valid.length - at));
      msg = Buffer.concat([valid.subarray(0, at + len), valid.subarray(at)]);
      detail = `duplicated ${len} at ${at}`;
      break;
    }
    case 'splice':
      msg = Buffer.concat(rng() < 0.5 ? [valid, other] : [other, valid]);
      detail = `spliced with another method's message (${other.length} bytes)`;
      break;
    case 'varint': {
      const vs = fields.filter((f) => f.wt === 0);
      const v = pick(rng, EXTREME_VARINTS);
      if (vs.length > 0) {
        const f = pick(rng, vs);
        msg = Buffer.concat([valid.subarray(0, f.valueAt), varint(v), valid.subarray(f.end)]);
        detail = `field ${f.field} = ${v}`;
      } else {
        const field = 1 + below(rng, 12);
        msg = Buffer.concat([valid, tagOf(field, 0), varint(v)]);
        detail = `appended field ${field} = ${v}`;
      }
      break;
    }
    case 'length-prefix': {
      const ls = fields.filter((f) => f.wt === 2);
      const f = ls.length > 0 ? pick(rng, ls) : undefined;
      const choice = below(rng, 4);
      const payloadLen = f ? f.end - f.payloadAt! : 0;
      const len =
        choice === 0
          ? pick(rng, HUGE_LENGTHS)
          : choice === 1
            ? BigInt(payloadLen + 1 + below(rng, 100))
            : choice === 2
              ? BigInt(Math.max(0, payloadLen - 1 - below(rng, 3)))
              : 0n;
      if (f) {
        msg = Buffer.concat([valid.subarray(0, f.valueAt), varint(len), valid.subarray(f.payloadAt!)]);
        detail = `field ${f.field} at ${f.start}: length ${payloadLen} → ${len}`;
      } else {
        msg = Buffer.concat([valid, tagOf(1, 2), varint(len), Buffer.from('abc')]);
        detail = `appended field 1 with length ${len}`;
      }
      break;
    }
    case 'wire-type': {
      if (fields.length > 0) {
        const f = pick(rng, fields);
        const wt = pick(
          rng,
          [0, 1, 2, 3, 4, 5, 6, 7].filter((x) => x !== f.wt),
        );
        msg = Buffer.concat([valid.subarray(0, f.start), tagOf(f.field, wt), valid.subarray(f.valueAt)]);
        detail = `field ${f.field} wire type ${f.wt} → ${wt}`;
      } else {
        msg = Buffer.from([0x0f, 0x01]);
        detail = 'field 1 wire type 7';
      }
      break;
    }
    case 'unknown-field': {
      const field = pick(rng, [100, 1000, 2 ** 29 - 1, 19_000, 0]);
      const wt = pick(rng, [0, 1, 2, 5]);
      const val =
        wt === 0
          ? varint(123n)
          : wt === 1
            ? Buffer.alloc(8)
            : wt === 5
              ? Buffer.alloc(4)
              : Buffer.from([3, 1, 2, 3]);
      msg = Buffer.concat([valid, tagOf(field, wt), val]);
      detail = `field ${field} (wire type ${wt})`;
      break;
    }
    case 'deep-group': {
      const depth = pick(rng, [100, 1000, 10_000, 100_000]);
      const field = pick(rng, [15, 1, 99]);
      const open = tagOf(field, 3);
      const close = tagOf(field, 4);
      msg = Buffer.concat([
        valid,
        Buffer.concat(Array(depth).fill(open)),
        Buffer.concat(Array(depth).fill(close)),
      ]);
      detail = `${depth} nested groups of field ${field}`;
      exclusive = exclusive || depth >= 10_000;
      break;
    }
    case 'nested-txn': {
      const depth = pick(rng, [...TXN_DEPTHS, 100_000]);
      msg = nestedTxn(depth, `fuzz/nested${depth}`);
      p = '/etcdserverpb.KV/Txn';
      detail = `txn nested ${depth} deep`;
      exclusive = exclusive || depth >= 10_000;
      break;
    }
    case 'oversized': {
      const which = pick(rng, ['grpc', 'request'] as const);
      const n = (which === 'grpc' ? limits.grpc : limits.request) + 1 + below(rng, 64);
      msg = Buffer.concat([lenField(1, Buffer.from('fuzz/huge')), lenField(2, Buffer.alloc(n, 0x78))]);
      p = '/etcdserverpb.KV/Put';
      detail = `put with a ${n}-byte value (${which} limit)`;
      exclusive = true;
      break;
    }
    case 'frame-compressed': {
      const flag = pick(rng, [1, 1, 2, 0x80, 0xff]);
      if (rng() < 0.5) headers = { 'grpc-encoding': pick(rng, ['gzip', 'deflate', 'identity', 'snappy']) };
      body = frame(valid, flag);
      detail = `flag ${flag}${headers ? `, grpc-encoding ${headers['grpc-encoding']}` : ''}`;
      break;
    }
    case 'frame-declared-longer': {
      const extra = 1 + below(rng, 1000);
      body = frame(valid, 0, valid.length + extra);
      ending = rng() < 0.5 ? 'wait-end' : 'wait-cancel';
      detail = `declared ${valid.length + extra}, sent ${valid.length}, then ${ending}`;
      break;
    }
    case 'frame-declared-shorter': {
      const cut = 1 + below(rng, Math.max(1, valid.length));
      body = frame(valid, 0, Math.max(0, valid.length - cut));
      detail = `declared ${Math.max(0, valid.length - cut)}, sent ${valid.length}`;
      break;
    }
    case 'frame-huge-length': {
      const declared = pick(rng, [0xffffffff, 0x7fffffff, limits.grpc + 1, limits.grpc + GRPC_BACKSTOP + 1]);
      body = frame(valid, 0, declared);
      ending = pick(rng, ['wait-end', 'wait-cancel'] as const);
      detail = `declared ${declared}, sent ${valid.length}, then ${ending}`;
      break;
    }
    case 'frame-two-messages':
      body = Buffer.concat([frame(valid), frame(rng() < 0.5 ? valid : other)]);
      detail = 'two messages on one call';
      break;
    case 'frame-empty':
      body = pick(rng, [Buffer.alloc(0), frame(Buffer.alloc(0))]);
      detail = body.length === 0 ? 'no message at all' : 'zero-length message';
      break;
    case 'frame-partial-header':
      body = frame(valid).subarray(0, 1 + below(rng, 4));
      detail = `${body.length} bytes of the 5-byte prefix`;
      break;
    case 'headers': {
      headers = pick<Record<string, string>>(rng, [
        { 'content-type': 'application/json' },
        { 'content-type': 'application/grpc+json' },
        { 'content-type': 'text/plain' },
        { 'grpc-timeout': pick(rng, ['1n', '99999999H', 'abc', '0S', '-1S', '1u']) },
        { hasleader: 'true' },
        { authorization: 'garbage' },
        { token: 'x'.repeat(5000) },
      ]);
      detail = JSON.stringify(headers).slice(0, 80);
      break;
    }
    case 'unknown-method':
      p = pick(rng, [
        '/etcdserverpb.KV/Nope',
        '/nope.Svc/Range',
        '/etcdserverpb.KV/',
        '/',
        '/etcdserverpb.KV/range',
      ]);
      detail = `path ${p}`;
      break;
  }
  return {
    target: 'grpc',
    via: 'grpc',
    path: p,
    route: kind === 'nested-txn' || kind === 'oversized' ? p : route.grpc,
    mutation: kind,
    detail,
    member,
    headers,
    body: body ?? frame(msg),
    ending,
    exclusive,
    stream: route.stream,
    mayBlock: route.mayBlock,
  };
}

/** grpc-server.ts GRPC_BACKSTOP_BYTES: how far above the limit grpc-js buffers before refusing. */
const GRPC_BACKSTOP = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------
// Case arbitraries
// ---------------------------------------------------------------------------------------------------------

const weighted = <T>(w: Record<string, number>): fc.Arbitrary<T> =>
  fc.oneof(...Object.entries(w).map(([k, weight]) => ({ arbitrary: fc.constant(k as T), weight })));

function routeArb(routes: RouteSpec[]): fc.Arbitrary<RouteSpec> {
  return fc.oneof(...routes.map((r) => ({ arbitrary: fc.constant(r), weight: r.weight })));
}

function only(w: Record<string, number>, names: string[] | undefined): Record<string, number> {
  return names ? Object.fromEntries(Object.entries(w).filter(([k]) => names.includes(k))) : w;
}

export function caseArbitrary(
  target: Target | 'both',
  limits: Limits,
  filter: CaseFilter = {},
): fc.Arbitrary<FuzzCase> {
  const routes = ROUTES.filter(
    (r) => !filter.routes || filter.routes.some((x) => r.grpc.includes(x) || r.gateway?.includes(x)),
  );
  const gwRoutes = routes.filter((r) => r.gateway !== undefined);
  const gwKinds = only(GATEWAY_WEIGHTS, filter.mutations);
  const grpcKinds = only(GRPC_WEIGHTS, filter.mutations);
  if (routes.length === 0) throw new Error(`no route matches ${filter.routes}`);
  const gateway = () =>
    fc
      .record({
        route: routeArb(gwRoutes),
        kind: weighted<GatewayMutation>(gwKinds),
        seed: fc.nat(),
        member: fc.integer({ min: 0, max: 2 }),
      })
      .chain(({ route, kind, seed, member }) =>
        route.base.map((base) => gatewayCase(route, base, kind, seed, member, limits)),
      );
  const grpc = () =>
    fc
      .record({
        route: routeArb(routes),
        other: routeArb(ROUTES),
        kind: weighted<GrpcMutation>(grpcKinds),
        seed: fc.nat(),
        member: fc.integer({ min: 0, max: 2 }),
      })
      .chain(({ route, other, kind, seed, member }) =>
        fc
          .tuple(route.base, other.base)
          .map(([base, ob]) => grpcCase(route, base, kind, seed, member, limits, encodeJson(other.grpc, ob))),
      );
  const gw = target !== 'grpc' && gwRoutes.length > 0 && Object.keys(gwKinds).length > 0;
  const rpc = target !== 'gateway' && Object.keys(grpcKinds).length > 0;
  if (gw && rpc) return fc.oneof(gateway(), grpc());
  if (gw) return gateway();
  if (rpc) return grpc();
  throw new Error(`no ${target} case matches ${JSON.stringify(filter)}`);
}

/** Cases are generated CHUNK at a time, each chunk from its own fast-check seed. */
export const CHUNK = 100;

/** Cases `from` .. `from + count - 1` of the run with this seed. */
export function generateCases(
  seed: number,
  target: Target | 'both',
  from: number,
  count: number,
  limits: Limits,
  filter: CaseFilter = {},
): FuzzCase[] {
  const arb = caseArbitrary(target, limits, filter);
  const out: FuzzCase[] = [];
  for (let chunk = Math.floor(from / CHUNK); out.length < count; chunk++) {
    const cases = fc.sample(arb, { seed: chunkSeed(seed, chunk), numRuns: CHUNK });
    for (let i = 0; i < CHUNK && out.length < count; i++) if (chunk * CHUNK + i >= from) out.push(cases[i]!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Case (de)serialization: the exact bytes, long runs of one byte kept short
// ---------------------------------------------------------------------------------------------------------

type BodyPart = string | { fill: string; n: number };

export function encodeBody(b: Buffer): BodyPart[] {
  const out: BodyPart[] = [];
  let start = 0;
  let i = 0;
  while (i < b.length) {
    let j = i + 1;
    while (j < b.length && b[j] === b[i]) j++;
    if (j - i >= 64) {
      if (i > start) out.push(b.subarray(start, i).toString('hex'));
      out.push({ fill: b.subarray(i, i + 1).toString('hex'), n: j - i });
      start = j;
    }
    i = j;
  }
  if (start < b.length || out.length === 0) out.push(b.subarray(start).toString('hex'));
  // Long repeated patterns (nests) compress poorly this way; keep them as they are.
  return out;
}

export function decodeBody(parts: BodyPart[]): Buffer {
  return Buffer.concat(
    parts.map((p) =>
      typeof p === 'string' ? Buffer.from(p, 'hex') : Buffer.alloc(p.n, Buffer.from(p.fill, 'hex')),
    ),
  );
}

export interface StoredCase extends Omit<FuzzCase, 'body'> {
  body: BodyPart[];
  /** The body as text, shortened, for reading (the bytes are `body`). */
  preview?: string;
}

export function storeCase(c: FuzzCase): StoredCase {
  const { body, ...rest } = c;
  return { ...rest, body: encodeBody(body), preview: preview(body) };
}

export function loadCase(s: StoredCase): FuzzCase {
  const { body, preview: _preview, ...rest } = s;
  return { ...rest, body: decodeBody(body) };
}

function preview(b: Buffer, max = 300): string {
  const s = b.subarray(0, max).toString('utf8');
  return b.length > max ? `${s}…(${b.length} bytes)` : s;
}

export function describeCase(c: FuzzCase, origin?: CaseOrigin): string {
  const narrowed = origin?.filter
    ? `${origin.filter.mutations ? ` mutations ${origin.filter.mutations.join(',')}` : ''}${origin.filter.routes ? ` routes ${origin.filter.routes.join(',')}` : ''}`
    : '';
  const where = origin
    ? ` [seed ${origin.seed} case ${origin.index} target ${origin.target}${narrowed}]`
    : '';
  const head =
    c.via === 'grpc'
      ? `gRPC ${c.path}`
      : c.via === 'socket'
        ? `raw socket (${c.route})`
        : `${c.method} ${c.path}`;
  const hex =
    c.body.length <= 512
      ? c.body.toString('hex')
      : `${c.body.subarray(0, 256).toString('hex')}… (${c.body.length} bytes)`;
  return [
    `${head} → member ${c.member}: ${c.mutation} (${c.detail})${where}`,
    ...(c.headers ? [`  headers: ${JSON.stringify(c.headers).slice(0, 200)}`] : []),
    `  ending: ${c.ending}`,
    `  body (text): ${JSON.stringify(preview(c.body))}`,
    `  body (hex): ${hex}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------------------

export type Outcome =
  | { kind: 'http'; status: number; message: string }
  | { kind: 'grpc'; status: string; message: string }
  | { kind: 'stream'; status: string }
  | { kind: 'socket'; answer: string }
  | { kind: 'timeout' }
  | { kind: 'transport'; error: string }
  | { kind: 'skipped'; why: string };

export function outcomeKey(o: Outcome): string {
  switch (o.kind) {
    case 'http':
      return `http ${o.status}`;
    case 'grpc':
      return `grpc ${o.status}`;
    case 'stream':
      return `stream ${o.status}`;
    case 'socket':
      return `socket ${o.answer}`;
    case 'timeout':
      return 'timeout';
    case 'transport':
      return `transport ${o.error}`;
    case 'skipped':
      return `skipped (${o.why})`;
  }
}

const UNARY_TIMEOUT_MS = 5000;
const BLOCK_TIMEOUT_MS = 600;
/** A stream that says nothing this long (a watch with nothing to report) is left. */
const STREAM_SILENT_MS = 600;
const STREAM_READ_MS = 250;
const WAIT_MS = 200;

function sendHttp(port: number, c: FuzzCase): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(o);
    };
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      ...(c.headers?.['transfer-encoding'] ? {} : { 'content-length': c.body.length }),
      ...c.headers,
    };
    const req = http.request(
      { host: '127.0.0.1', port, path: c.path, method: c.method ?? 'POST', headers, agent: false },
      (res) => {
        const status = res.statusCode ?? 0;
        let text = '';
        res.on('data', (d: Buffer) => {
          if (text.length < 300) text += d.toString('utf8');
        });
        res.on('error', () => {});
        if (c.stream && status === 200) {
          setTimeout(() => finish({ kind: 'stream', status: String(status) }), STREAM_READ_MS);
          res.on('end', () => finish({ kind: 'stream', status: `${status} ended` }));
        } else res.on('end', () => finish({ kind: 'http', status, message: httpMessage(text) }));
      },
    );
    const timer = setTimeout(
      () => finish(c.stream ? { kind: 'stream', status: 'silent' } : { kind: 'timeout' }),
      c.mayBlock ? BLOCK_TIMEOUT_MS : c.stream ? STREAM_SILENT_MS : UNARY_TIMEOUT_MS,
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish({ kind: 'transport', error: err.code ?? err.message }),
    );
    req.end(c.body);
  });
}

/** The gateway's error message (`{"error", "code", "message"}`), or the body's start. */
function httpMessage(text: string): string {
  try {
    const o = JSON.parse(text) as { message?: unknown };
    if (typeof o.message === 'string') return o.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 100);
}

function sendSocket(port: number, c: FuzzCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    let settle: NodeJS.Timeout | undefined;
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(settle);
      socket.destroy();
      const answer = Buffer.concat(chunks);
      resolve({ kind: 'socket', answer: answer.length > 0 ? describeAnswer(answer) : why });
    };
    const timer = setTimeout(() => finish('no answer'), 1500);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      // Whatever else the server says arrives right after (a keep-alive HTTP/1 connection stays open).
      settle ??= setTimeout(() => finish('answered'), 50);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? 'error'));
    socket.on('close', () => finish('closed'));
    socket.on('connect', () => {
      socket.write(c.body);
      if (c.ending === 'end') socket.end();
      else
        setTimeout(() => {
          if (c.ending === 'wait-end') socket.end();
          else {
            socket.resetAndDestroy();
            finish('reset');
          }
        }, WAIT_MS);
    });
  });
}

const H2_TYPES = [
  'DATA',
  'HEADERS',
  'PRIORITY',
  'RST_STREAM',
  'SETTINGS',
  'PUSH_PROMISE',
  'PING',
  'GOAWAY',
  'WINDOW_UPDATE',
  'CONTINUATION',
];
const H2_ERRORS = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
];

/** An HTTP/1 status line, or the HTTP/2 frames a raw connection got back (GOAWAY with its code). */
function describeAnswer(b: Buffer): string {
  if (b.subarray(0, 5).toString('latin1') === 'HTTP/')
    return b.toString('latin1').split('\r\n')[0]!.slice(9, 50);
  const seen: string[] = [];
  for (let at = 0; at + 9 <= b.length && seen.length < 6; ) {
    const len = b.readUIntBE(at, 3);
    const type = b[at + 3]!;
    let name = H2_TYPES[type] ?? `type ${type}`;
    if (type === 7 && at + 17 <= b.length)
      name += `(${H2_ERRORS[b.readUInt32BE(at + 13)] ?? b.readUInt32BE(at + 13)})`;
    if (type === 3 && at + 13 <= b.length)
      name += `(${H2_ERRORS[b.readUInt32BE(at + 9)] ?? b.readUInt32BE(at + 9)})`;
    if (seen[seen.length - 1] !== name) seen.push(name);
    at += 9 + len;
  }
  return `h2 ${seen.join(',')}`;
}

class Sessions {
  readonly #sessions = new Map<number, http2.ClientHttp2Session>();

  get(port: number): http2.ClientHttp2Session {
    let s = this.#sessions.get(port);
    if (!s || s.closed || s.destroyed) {
      s = http2.connect(`http://127.0.0.1:${port}`);
      s.on('error', () => {});
      s.on('goaway', () => {});
      const mine = s;
      s.on('close', () => {
        if (this.#sessions.get(port) === mine) this.#sessions.delete(port);
      });
      this.#sessions.set(port, s);
    }
    return s;
  }

  close(): void {
    for (const s of this.#sessions.values()) s.destroy();
    this.#sessions.clear();
  }
}

function sendGrpc(sessions: Sessions, port: number, c: FuzzCase): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    let stream: http2.ClientHttp2Stream | undefined;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (stream && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve(o);
    };
    const timer = setTimeout(
      () => finish(c.stream ? { kind: 'stream', status: 'silent' } : { kind: 'timeout' }),
      c.mayBlock ? BLOCK_TIMEOUT_MS : c.stream ? STREAM_SILENT_MS : UNARY_TIMEOUT_MS,
    );
    try {
      stream = sessions.get(port).request({
        ':method': 'POST',
        ':path': c.path,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...c.headers,
      });
    } catch (err) {
      finish({ kind: 'transport', error: (err as NodeJS.ErrnoException).code ?? String(err) });
      return;
    }
    let headers: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      headers = h;
      if (c.stream && h['grpc-status'] === undefined)
        setTimeout(() => finish({ kind: 'stream', status: 'open' }), STREAM_READ_MS);
    });
    stream.on('trailers', (t) => {
      headers = { ...headers, ...t };
    });
    stream.on('data', () => {});
    stream.on('close', () => {
      const status = headers['grpc-status'];
      if (status === undefined) {
        const code = stream?.rstCode;
        finish({ kind: 'transport', error: `stream closed without status (rst ${code})` });
      } else
        finish({
          kind: 'grpc',
          status: String(status),
          message: decodeURIComponent(String(headers['grpc-message'] ?? '')),
        });
    });
    stream.on('error', () => {});
    stream.write(c.body);
    if (c.ending === 'end') {
      if (!c.stream) stream.end();
      // A watch or keepalive half-closed at once may end before it answers: keep it open briefly.
      else setTimeout(() => stream?.end(), STREAM_READ_MS / 2);
    } else
      setTimeout(() => {
        if (done || !stream) return;
        if (c.ending === 'wait-end') stream.end();
        else finish({ kind: 'stream', status: 'cancelled' });
      }, WAIT_MS);
  });
}

// ---------------------------------------------------------------------------------------------------------
// The cluster
// ---------------------------------------------------------------------------------------------------------

export interface ClusterOptions {
  /** The repository root (dist/ holds the server; test/harness/concord-as-etcd starts it). */
  root: string;
  maxRequestBytes?: number;
  name?: string;
}

interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
}

export class FuzzCluster {
  readonly sessions = new Sessions();
  readonly limits: Limits;
  /** Real member IDs as decimal strings. */
  ids: string[] = [];

  private constructor(
    readonly cluster: EtcdCluster,
    maxRequestBytes: number,
  ) {
    this.limits = limitsFor(maxRequestBytes);
  }

  static async start(opts: ClusterOptions): Promise<FuzzCluster> {
    const maxRequestBytes = opts.maxRequestBytes ?? MAX_REQUEST_BYTES;
    const cluster = await startEtcd({
      members: 3,
      bin: path.join(opts.root, 'test/harness/concord-as-etcd'),
      name: opts.name ?? 'fuzz',
      // The lowest bcrypt cost: a password hash at the default 10 takes a member's CPU ~100 ms.
      extraArgs: ['--max-request-bytes', String(maxRequestBytes), '--bcrypt-cost', '4'],
    });
    const fz = new FuzzCluster(cluster, maxRequestBytes);
    fz.ids = cluster.members.map((m) => m.id ?? '');
    return fz;
  }

  port(i: number): number {
    return Number(this.cluster.members[i]!.endpoint.split(':')[1]);
  }

  deadMembers(): number[] {
    return this.cluster.members.filter((m) => !m.alive).map((m) => m.index);
  }

  send(c: FuzzCase): Promise<Outcome> {
    const why = this.unsafe(c);
    if (why) return Promise.resolve({ kind: 'skipped', why });
    const port = this.port(c.member);
    if (c.via === 'http') return sendHttp(port, c);
    if (c.via === 'socket') return sendSocket(port, c);
    return sendGrpc(this.sessions, port, c);
  }

  /** Why a case must not be sent (see the file header), if it must not. */
  unsafe(c: FuzzCase): string | undefined {
    const routePath = c.path.split('?')[0]!.replace(/^\/v3(?:beta|alpha)\//, '/v3/');
    if (EXCLUDED.includes(routePath) || EXCLUDED.includes(c.route)) return 'auth enable is excluded';
    if (
      /member\/(remove|update|promote)|Member(Remove|Update|Promote)|MoveLeader|transfer-leadership/.test(
        c.route,
      )
    ) {
      const text = c.body.toString('latin1');
      for (const id of this.ids) {
        if (!id) continue;
        if (text.includes(id)) return 'names a real member';
        if (c.body.includes(varint(BigInt(id)))) return 'names a real member';
      }
    }
    return undefined;
  }

  async post(i: number, p: string, body: unknown, timeoutMs = 3000): Promise<JsonAnswer> {
    const text = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port(i),
          path: p,
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            data += d;
          });
          res.on('end', () => {
            clearTimeout(timer);
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) as Record<string, unknown> });
            } catch {
              resolve({ status: res.statusCode ?? 0, body: { raw: data } });
            }
          });
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`timed out after ${timeoutMs} ms: ${p}`)),
        timeoutMs,
      );
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(text);
    });
  }

  /** Removes members a case added and disarms alarms a case raised. */
  async cleanup(): Promise<string[]> {
    const done: string[] = [];
    const live = this.cluster.members.filter((m) => m.alive).map((m) => m.index);
    const at = live[0];
    if (at === undefined) return done;
    const ours = new Set(this.cluster.members.map((m) => m.name));
    const list = await this.post(at, '/v3/cluster/member/list', {});
    for (const m of (list.body.members as { ID?: string; name?: string }[] | undefined) ?? []) {
      if (m.name && ours.has(m.name)) continue;
      const r = await this.post(at, '/v3/cluster/member/remove', { ID: m.ID }, 5000);
      done.push(`removed added member ${m.ID} (${r.status})`);
    }
    const alarms = await this.post(at, '/v3/maintenance/alarm', { action: 'GET' });
    for (const a of (alarms.body.alarms as { memberID?: string; alarm?: string }[] | undefined) ?? []) {
      const r = await this.post(
        at,
        '/v3/maintenance/alarm',
        { action: 'DEACTIVATE', memberID: a.memberID ?? '0', alarm: a.alarm },
        5000,
      );
      done.push(`disarmed alarm ${a.alarm} of ${a.memberID} (${r.status})`);
    }
    return done;
  }

  /**
   * Every member alive, answering a put and a linearizable Range, and the same HashKV at one
   * revision. Returns the problem, or undefined.
   */
  async check(round: number, timeoutMs = 20_000): Promise<Problem | undefined> {
    const dead = this.deadMembers();
    if (dead.length > 0) return this.crashProblem(dead);
    const deadline = Date.now() + timeoutMs;
    const canary = b64(`fuzz/canary`);
    let last = '';
    try {
      await this.cleanup();
    } catch (err) {
      last = `cleanup: ${(err as Error).message}`;
    }
    // A put through one member (rotating), then a linearizable Range on each.
    let wrote = false;
    while (!wrote && Date.now() < deadline) {
      try {
        const r = await this.post(round % 3, '/v3/kv/put', { key: canary, value: b64(String(round)) }, 3000);
        if (r.status === 200) wrote = true;
        else last = `put: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
      } catch (err) {
        last = `put: ${(err as Error).message}`;
      }
      if (!wrote) await sleep(200);
      const d = this.deadMembers();
      if (d.length > 0) return this.crashProblem(d);
    }
    if (!wrote)
      return {
        kind: 'stuck',
        message: `member ${round % 3} did not take a put within ${timeoutMs} ms (${last})`,
      };
    for (let i = 0; i < 3; i++) {
      let ok = false;
      while (!ok && Date.now() < deadline) {
        try {
          const r = await this.post(i, '/v3/kv/range', { key: canary }, 3000);
          const kvs = r.body.kvs as { value?: string }[] | undefined;
          if (r.status === 200 && kvs?.[0]?.value === b64(String(round))) ok = true;
          else last = `range on ${i}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
        } catch (err) {
          last = `range on ${i}: ${(err as Error).message}`;
        }
        if (!ok) await sleep(200);
        const d = this.deadMembers();
        if (d.length > 0) return this.crashProblem(d);
      }
      if (!ok)
        return {
          kind: 'stuck',
          message: `member ${i} did not answer a Range within ${timeoutMs} ms (${last})`,
        };
    }
    // HashKV at the lowest current revision, on each member, until they compare.
    for (;;) {
      try {
        const status = await Promise.all(
          [0, 1, 2].map((i) => this.post(i, '/v3/maintenance/status', {}, 3000)),
        );
        const revs = status.map((s) =>
          BigInt(String((s.body.header as { revision?: string } | undefined)?.revision ?? '0')),
        );
        let rev = revs[0]!;
        for (const x of revs) if (x < rev) rev = x;
        const hashes = await Promise.all(
          [0, 1, 2].map((i) => this.post(i, '/v3/maintenance/hashkv', { revision: rev.toString() }, 5000)),
        );
        if (hashes.every((h) => h.status === 200)) {
          const hs = hashes.map((h) => `${h.body.hash ?? 0}@compact ${h.body.compact_revision ?? 0}`);
          const compacts = new Set(hashes.map((h) => String(h.body.compact_revision ?? 0)));
          if (compacts.size === 1) {
            if (new Set(hs).size === 1) return undefined;
            return {
              kind: 'diverged',
              message: `HashKV at revision ${rev}: ${hs.map((h, i) => `member ${i} ${h}`).join(', ')}`,
            };
          }
          last = `compact revisions differ: ${hs.join(', ')}`;
        } else
          last = `hashkv: ${hashes.map((h) => `${h.status} ${JSON.stringify(h.body).slice(0, 120)}`).join('; ')}`;
      } catch (err) {
        last = `hashkv: ${(err as Error).message}`;
      }
      const d = this.deadMembers();
      if (d.length > 0) return this.crashProblem(d);
      if (Date.now() >= deadline)
        return { kind: 'stuck', message: `members never agreed on HashKV: ${last}` };
      await sleep(200);
    }
  }

  crashProblem(dead: number[]): Problem {
    return {
      kind: 'crash',
      message: `member ${dead.join(', ')} exited: ${dead.map((i) => crashLine(this.memberLog(i))).join(' | ')}`,
      members: dead,
    };
  }

  /** Member i's log lines of its current (or last) run. */
  memberLog(i: number): string {
    return this.cluster.members[i]!.runLogs();
  }

  /** Kills each member in turn and starts it again on its data dir; then checks. */
  async restartAll(round: number): Promise<Problem | undefined> {
    this.sessions.close();
    for (let i = 0; i < 3; i++) {
      await this.cluster.kill(i);
      try {
        await this.cluster.restart(i, { timeoutMs: 30_000 });
      } catch (err) {
        const msg = (err as Error).message;
        return { kind: 'restart', message: `member ${i} did not come back: ${crashLine(msg)}`, members: [i] };
      }
      const p = await this.check(round + i);
      if (p) return { ...p, message: `after restarting member ${i}: ${p.message}` };
    }
    return undefined;
  }

  /** Brings dead members back on their data dirs; false when one will not come back. */
  async revive(): Promise<boolean> {
    this.sessions.close();
    for (const i of this.deadMembers()) {
      try {
        await this.cluster.restart(i, { timeoutMs: 15_000 });
      } catch {
        return false;
      }
    }
    return (await this.check(0, 15_000)) === undefined;
  }

  async close(): Promise<void> {
    this.sessions.close();
    await this.cluster.close();
  }
}

/** The line of a member's log that says why it died (an Error line), or its last line. */
export function crashLine(log: string): string {
  const lines = log
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const err = lines.find((l) => /^(Uncaught )?[A-Z]\w*(Error|Exception)\b/.test(l) || /^Error:/.test(l));
  if (err) return err.slice(0, 300);
  const fatal = lines.find((l) => /panic|fatal|uncaught/i.test(l));
  return (fatal ?? lines[lines.length - 1] ?? '(no log)').slice(0, 300);
}

// ---------------------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------------------

export interface Problem {
  kind: 'crash' | 'stuck' | 'diverged' | 'restart';
  message: string;
  members?: number[];
}

export interface Failure {
  problem: Problem;
  /** The case found to reproduce it alone on a fresh cluster, if one did. */
  culprit?: { case: FuzzCase; origin?: CaseOrigin };
  /** The cases sent since the last good check (the culprit is among them), newest last. */
  suspects: { case: FuzzCase; origin?: CaseOrigin; outcome?: Outcome }[];
}

export interface Stats {
  cases: number;
  byRoute: Record<string, number>;
  byMutation: Record<string, number>;
  byOutcome: Record<string, number>;
  /** Unexpected outcomes worth a look (5xx, a unary request that never answered), a few examples each. */
  oddities: Record<string, string[]>;
  checks: number;
  /** The first case of each outcome, for reading the outcome table. */
  outcomeExample: Record<string, string>;
  /** Time spent waiting for each outcome (ms), by outcome. */
  msByOutcome: Record<string, number>;
  /** Failures seen again (same signature) after the first, by signature. */
  repeats: Record<string, number>;
  elapsedMs: number;
}

export function newStats(): Stats {
  return {
    cases: 0,
    byRoute: {},
    byMutation: {},
    byOutcome: {},
    oddities: {},
    checks: 0,
    outcomeExample: {},
    msByOutcome: {},
    repeats: {},
    elapsedMs: 0,
  };
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/** INTERNAL for a message that cannot be read or unpacked: grpc-go (etcd) answers those INTERNAL too. */
const UNREADABLE =
  /deserializ|unmarshal|decompress|payload format|compressed flag|larger than max|Received a message|grpc-timeout/i;
/**
 * Lock and election errors are plain errors in etcd too (UNKNOWN, HTTP 500 through the gateway),
 * and so are grpc-gateway v1's errors decoding a request stream (watch, keepalive).
 */
const PLAIN_ERRORS = /^\/(v3\/(lock|election|watch|lease\/keepalive)|v3lockpb|v3electionpb)/;

function record(stats: Stats, c: FuzzCase, o: Outcome, ms: number, origin?: CaseOrigin): void {
  stats.cases++;
  bump(stats.byRoute, `${c.target} ${c.route}`);
  bump(stats.byMutation, `${c.target} ${c.mutation}`);
  const outcome = `${c.target} ${outcomeKey(o)}`;
  bump(stats.byOutcome, outcome);
  stats.outcomeExample[outcome] ??= `${c.route} ${c.mutation} (${c.detail.slice(0, 60)})`;
  const kindKey = `${c.target} ${o.kind}`;
  stats.msByOutcome[kindKey] = (stats.msByOutcome[kindKey] ?? 0) + ms;
  const plain = PLAIN_ERRORS.test(c.route);
  const odd =
    (o.kind === 'http' && o.status >= 500 && o.status !== 503 && o.status !== 504 && !plain) ||
    (o.kind === 'grpc' && o.status === '13' && !UNREADABLE.test(o.message)) ||
    (o.kind === 'grpc' && o.status === '2' && !plain && !/^(unexpected )?EOF$/.test(o.message)) ||
    (o.kind === 'timeout' && !c.mayBlock && !c.stream);
  if (odd) {
    const message = o.kind === 'grpc' || o.kind === 'http' ? ` ${o.message.slice(0, 100)}` : '';
    const key = `${c.target} ${c.route} ${outcomeKey(o)}${message}`;
    const list = stats.oddities[key] ?? [];
    stats.oddities[key] = list;
    if (list.length < 3)
      list.push(
        `${c.mutation} (${c.detail.slice(0, 100)})${origin ? ` seed ${origin.seed} case ${origin.index}` : ''}`,
      );
  }
}

export interface RunOptions {
  root: string;
  seed: number;
  target: Target | 'both';
  /** Stop after this many cases… */
  cases?: number;
  /** …or after this long. */
  timeMs?: number;
  /** The first case index (to resume or to replay one case). */
  from?: number;
  /** Cases between checks. Default 100. */
  batch?: number;
  /** Cases in flight at once. Default 4. */
  concurrency?: number;
  /** Restart every member at the end and check again. Default true. */
  restartAtEnd?: boolean;
  /** After a failure, start a fresh cluster and go on (up to this many failures). Default: stop. */
  maxFailures?: number;
  /** Look for the culprit among the suspects on a fresh cluster, for up to this long. Default 120 s. */
  isolateMs?: number;
  filter?: CaseFilter;
  /** A running cluster to use (it is not closed); otherwise one is started (and closed). */
  cluster?: FuzzCluster;
  maxRequestBytes?: number;
  log?: (line: string) => void;
  /** Log each batch's timing. */
  verbose?: boolean;
  /** Called with each failure as it is found (e.g. to save it). */
  onFailure?: (f: Failure) => void;
}

export interface RunReport {
  stats: Stats;
  failures: Failure[];
  /** The cluster at the end (a fresh one after failures), when the caller gave one. */
  cluster?: FuzzCluster;
}

/** Sends cases in batches with checks between them; see the file header. */
export async function runFuzz(opts: RunOptions): Promise<RunReport> {
  const log = opts.log ?? (() => {});
  const stats = newStats();
  const failures: Failure[] = [];
  const t0 = Date.now();
  const batch = opts.batch ?? 100;
  const concurrency = opts.concurrency ?? 4;
  const maxFailures = opts.maxFailures ?? 1;
  const owned = !opts.cluster;
  let fz =
    opts.cluster ?? (await FuzzCluster.start({ root: opts.root, maxRequestBytes: opts.maxRequestBytes }));
  const limits = fz.limits;
  let index = opts.from ?? 0;
  let round = 0;
  const seen = new Set<string>();
  const end = () =>
    (opts.cases !== undefined && index >= (opts.from ?? 0) + opts.cases) ||
    (opts.timeMs !== undefined && Date.now() - t0 >= opts.timeMs);
  try {
    while (!end() && failures.length < maxFailures) {
      const n = opts.cases !== undefined ? Math.min(batch, (opts.from ?? 0) + opts.cases - index) : batch;
      const cases = generateCases(opts.seed, opts.target, index, n, limits, opts.filter);
      const origins = cases.map((_, k) => ({
        seed: opts.seed,
        index: index + k,
        target: opts.target,
        ...(opts.filter ? { filter: opts.filter } : {}),
      }));
      index += n;
      const sent: Failure['suspects'] = [];
      const tb = Date.now();
      const outOfTime = () => opts.timeMs !== undefined && Date.now() - t0 >= opts.timeMs;
      let problem = await sendBatch(fz, cases, origins, concurrency, stats, sent, outOfTime);
      const tc = Date.now();
      round++;
      if (!problem) {
        problem = await fz.check(round);
        stats.checks++;
      }
      if (opts.verbose)
        log(`batch ${round}: ${sent.length} cases in ${tc - tb} ms, check ${Date.now() - tc} ms`);
      if (problem) {
        const failure: Failure = { problem, suspects: sent };
        const sig = signature(problem);
        if (seen.has(sig)) {
          stats.repeats[sig] = (stats.repeats[sig] ?? 0) + 1;
          const last = sent[sent.length - 1];
          log(
            `same failure again (${problem.kind}): ${problem.message.slice(0, 160)}${last ? ` — after ${last.case.route} ${last.case.mutation}` : ''}`,
          );
        } else {
          seen.add(sig);
          log(`FAILURE (${problem.kind}): ${problem.message}`);
          failure.culprit = await isolate(opts, failure, log);
          failures.push(failure);
          opts.onFailure?.(failure);
          log(describeFailure(failure));
        }
        // Members killed by a request come back on their data dirs; a poisoned or split cluster is replaced.
        if (!(await fz.revive())) {
          log('the cluster did not recover: starting a fresh one');
          await fz.close().catch(() => {});
          fz = await FuzzCluster.start({ root: opts.root, maxRequestBytes: opts.maxRequestBytes });
        }
        continue;
      }
      if (round % 10 === 0)
        log(
          `${stats.cases} cases, ${((stats.cases * 1000) / (Date.now() - t0)).toFixed(0)}/s, ${stats.checks} checks, ${failures.length} failures`,
        );
    }
    if ((opts.restartAtEnd ?? true) && failures.length < maxFailures) {
      log('restarting every member on its data dir');
      const problem = await fz.restartAll(round + 1);
      stats.checks++;
      if (problem) {
        const failure: Failure = { problem, suspects: [] };
        log(`FAILURE (${problem.kind}): ${problem.message}`);
        failures.push(failure);
        opts.onFailure?.(failure);
        await fz.close().catch(() => {});
        fz = await FuzzCluster.start({ root: opts.root, maxRequestBytes: opts.maxRequestBytes });
      }
    }
  } finally {
    stats.elapsedMs = Date.now() - t0;
    if (owned) await fz.close().catch(() => {});
  }
  return { stats, failures, ...(owned ? {} : { cluster: fz }) };
}

/**
 * Sends `cases` with up to `concurrency` in flight (an exclusive case alone, then its cleanup);
 * returns a crash as soon as a member dies, and stops early (for the check) when a request that
 * should be answered at once is not.
 */
async function sendBatch(
  fz: FuzzCluster,
  cases: FuzzCase[],
  origins: CaseOrigin[],
  concurrency: number,
  stats: Stats,
  sent: Failure['suspects'],
  stop: () => boolean,
): Promise<Problem | undefined> {
  const inflight = new Set<Promise<void>>();
  let crash: Problem | undefined;
  let unanswered = false;
  const one = async (c: FuzzCase, origin: CaseOrigin) => {
    const entry: Failure['suspects'][number] = { case: c, origin };
    sent.push(entry);
    const t = Date.now();
    const o = await fz.send(c);
    entry.outcome = o;
    record(stats, c, o, Date.now() - t, origin);
    // A member that died answers with a reset; its exit may take a moment to be seen.
    if (o.kind === 'transport' || o.kind === 'timeout') {
      for (let i = 0; i < 10 && fz.deadMembers().length === 0; i++) await sleep(50);
    }
    if (o.kind === 'timeout' && !c.mayBlock && !c.stream) unanswered = true;
    const dead = fz.deadMembers();
    if (dead.length > 0 && !crash) crash = fz.crashProblem(dead);
  };
  for (let k = 0; k < cases.length && !crash && !unanswered && !stop(); k++) {
    const c = cases[k]!;
    if (c.exclusive) {
      await Promise.all(inflight);
      if (crash) break;
      await one(c, origins[k]!);
      if (!crash)
        try {
          await fz.cleanup();
        } catch {
          // the check after the batch retries, and reports a member that stays stuck
        }
      continue;
    }
    const p = one(c, origins[k]!).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= concurrency) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return crash;
}

/**
 * Replays the suspects one at a time on a fresh cluster (the ones that failed in transport
 * first, then newest first), checking after each, until the failure shows again.
 */
async function isolate(
  opts: RunOptions,
  failure: Failure,
  log: (l: string) => void,
): Promise<Failure['culprit']> {
  const budget = opts.isolateMs ?? 120_000;
  if (budget <= 0 || failure.suspects.length === 0) return undefined;
  const t0 = Date.now();
  const order = [...failure.suspects].reverse();
  order.sort((a, b) => rank(a.outcome) - rank(b.outcome));
  log(`isolating the culprit among ${order.length} cases on a fresh cluster`);
  let fz = await FuzzCluster.start({
    root: opts.root,
    maxRequestBytes: opts.maxRequestBytes,
    name: 'fuzziso',
  });
  try {
    let round = 1000;
    for (const s of order) {
      if (Date.now() - t0 > budget) {
        log('isolation ran out of time');
        return undefined;
      }
      const o = await fz.send(s.case);
      if (o.kind === 'transport' || o.kind === 'timeout')
        for (let i = 0; i < 10 && fz.deadMembers().length === 0; i++) await sleep(50);
      if (s.case.exclusive) await fz.cleanup().catch(() => {});
      // A crash shows at once; stuck or diverged only in a check.
      const problem =
        fz.deadMembers().length > 0
          ? fz.crashProblem(fz.deadMembers())
          : failure.problem.kind === 'crash'
            ? undefined
            : await fz.check(round++, 10_000);
      if (problem) {
        log(`reproduced alone: ${problem.message}`);
        return { case: s.case, origin: s.origin };
      }
    }
    log('no single case reproduced it');
    return undefined;
  } finally {
    await fz.close().catch(() => {});
    fz = undefined as never;
  }
}

/** What makes two failures the same bug: the kind and the message without numbers and field names. */
export function signature(p: Problem): string {
  return `${p.kind}: ${p.message
    .replace(/^member [\d, ]+exited: /, '')
    .replace(/field message\.\w+/g, 'field message.*')
    .replace(/\bmember \d+\b/g, 'member N')
    .replace(/\d+/g, 'N')
    .slice(0, 200)}`;
}

const rank = (o: Outcome | undefined): number =>
  !o ? 0 : o.kind === 'transport' ? 1 : o.kind === 'timeout' ? 2 : 3;

export function describeFailure(f: Failure): string {
  const lines = [`${f.problem.kind}: ${f.problem.message}`];
  if (f.culprit) lines.push(`reproduced by:\n${describeCase(f.culprit.case, f.culprit.origin)}`);
  else if (f.suspects.length > 0) {
    lines.push(
      `not reproduced by one case alone; the ${f.suspects.length} cases since the last good check, newest last (up to 5 shown):`,
    );
    for (const s of f.suspects.slice(-5)) lines.push(describeCase(s.case, s.origin));
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Regressions
// ---------------------------------------------------------------------------------------------------------

export interface Regression {
  /** Name: problem kind, target, route, mutation. */
  id: string;
  /** signature() of the problem: one regression per bug is enough. */
  signature: string;
  /** What happened when it was found. */
  what: string;
  found: string;
  origin?: CaseOrigin;
  /** Cases replayed in order (usually one). */
  cases: StoredCase[];
}

export interface RegressionFile {
  comment: string;
  regressions: Regression[];
}

export const REGRESSIONS_COMMENT =
  'Hostile inputs that crashed, stuck or split a Concord cluster (test/fuzz/input-fuzz.ts). The jest suite replays each on a 3-member cluster before fuzzing; bodies are hex, with {fill, n} for long runs of one byte.';

export function readRegressions(file: string): RegressionFile {
  if (!existsSync(file)) return { comment: REGRESSIONS_COMMENT, regressions: [] };
  return JSON.parse(readFileSync(file, 'utf8')) as RegressionFile;
}

/** Adds a failure's case(s) to the file unless the file holds the same bytes or the same bug (signature). */
export function saveRegression(file: string, f: Failure): Regression | undefined {
  const data = readRegressions(file);
  const cases = f.culprit ? [f.culprit.case] : f.suspects.map((s) => s.case);
  if (cases.length === 0) return undefined;
  const last = cases[cases.length - 1]!;
  const id = `${f.problem.kind} ${last.target} ${last.route} ${last.mutation}${f.culprit ? '' : ` (sequence of ${cases.length})`}`;
  const what = f.problem.message.slice(0, 400);
  const stored = cases.map(storeCase);
  const key = JSON.stringify(stored.map((s) => s.body));
  const sig = signature(f.problem);
  if (data.regressions.some((r) => r.signature === sig || JSON.stringify(r.cases.map((s) => s.body)) === key))
    return undefined;
  const reg: Regression = {
    id: `${id} #${randomBytes(3).toString('hex')}`,
    signature: sig,
    what,
    found: new Date().toISOString().slice(0, 10),
    ...(f.culprit?.origin ? { origin: f.culprit.origin } : {}),
    cases: stored,
  };
  data.regressions.push(reg);
  writeFileSync(file, `${formatJson(data)}\n`);
  return reg;
}

/**
 * JSON as biome formats it (lint checks the committed file): objects expanded, an array of
 * primitives on one line when it fits in 110 columns.
 */
export function formatJson(v: unknown, indent = 0, prefix = 0): string {
  const pad = '  '.repeat(indent + 1);
  const end = '  '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const flat = v.every((x) => x === null || typeof x !== 'object');
    const line = `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
    if (flat && indent * 2 + prefix + line.length + 1 <= 110) return line;
    return `[\n${v.map((x) => pad + formatJson(x, indent + 1)).join(',\n')}\n${end}]`;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries
      .map(([k, x]) => {
        const key = `${JSON.stringify(k)}: `;
        return pad + key + formatJson(x, indent + 1, key.length);
      })
      .join(',\n')}\n${end}}`;
  }
  return JSON.stringify(v);
}

/** Replays one regression on `fz`; the problem it causes, if any. */
export async function replayRegression(
  fz: FuzzCluster,
  r: Regression,
  round: number,
): Promise<Problem | undefined> {
  for (const s of r.cases) {
    const c = loadCase(s);
    const o = await fz.send(c);
    if (o.kind === 'transport' || o.kind === 'timeout')
      for (let i = 0; i < 10 && fz.deadMembers().length === 0; i++) await sleep(50);
    if (c.exclusive) await fz.cleanup().catch(() => {});
    const dead = fz.deadMembers();
    if (dead.length > 0) return fz.crashProblem(dead);
  }
  return fz.check(round, 10_000);
}

export function formatStats(s: Stats): string {
  const table = (m: Record<string, number>, notes: Record<string, string> = {}) =>
    Object.entries(m)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `  ${String(n).padStart(7)}  ${k}${notes[k] ? `   e.g. ${notes[k]}` : ''}`)
      .join('\n');
  const rate = s.elapsedMs > 0 ? ((s.cases * 1000) / s.elapsedMs).toFixed(1) : '?';
  const odd = Object.entries(s.oddities)
    .map(([k, ex]) => `  ${k}\n${ex.map((e) => `      e.g. ${e}`).join('\n')}`)
    .join('\n');
  return [
    `${s.cases} cases in ${(s.elapsedMs / 1000).toFixed(1)} s (${rate}/s), ${s.checks} cluster checks`,
    'per route:',
    table(s.byRoute),
    'per mutation:',
    table(s.byMutation),
    'outcomes:',
    table(s.byOutcome, s.outcomeExample),
    'time waiting per outcome kind (ms, all cases):',
    table(s.msByOutcome),
    ...(odd ? ['oddities (not failures: 5xx, INTERNAL/UNKNOWN, unanswered unary requests):', odd] : []),
    ...(Object.keys(s.repeats).length > 0 ? ['failures seen again:', table(s.repeats)] : []),
  ].join('\n');
}
