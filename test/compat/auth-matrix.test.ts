/**
 * Auth on every RPC kind, against the target (real etcd in the 'etcd' project, Concord in
 * 'concord'): users are set up with the `etcd3` npm client's auth API, then a matrix of users ×
 * keys × operations (get, range, put, delete, txn, watch, lease revoke) runs over raw gRPC with
 * each user's token, and every outcome must be what the users' roles allow — with etcd's exact
 * status code and message when refused. Bad, stale and expired tokens are refused, and a fuzz
 * pass of random tokens and malformed metadata leaves the server answering.
 */
import { randomBytes } from 'node:crypto';
import { Etcd3, Range } from 'etcd3';
import { type Channel, createChannel, createClient, Metadata } from 'nice-grpc';
import { AuthDefinition, KVDefinition, LeaseDefinition } from '../../src/gen/etcdserverpb/rpc.js';
import { LockDefinition } from '../../src/gen/v3lockpb/v3lock.js';
import { sleep, startEtcd } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { grpcOutcome, watchOutcome } from '../harness/grpc-outcome.js';

const b = (s: string) => Buffer.from(s);

/** What each user may do: [read ranges, write ranges], a range as [key, end) with end '' = one key. */
type Ranges = [string, string][];
const USERS: Record<string, { password: string; read: Ranges; write: Ranges }> = {
  root: { password: 'rootpw', read: [['', '\0']], write: [['', '\0']] },
  'u-prefix': { password: 'p1', read: [['p/', 'p0']], write: [['p/', 'p0']] },
  'u-read': { password: 'p2', read: [['k1', 'k5']], write: [] },
  'u-write': { password: 'p3', read: [], write: [['w', '']] },
  'u-none': { password: 'p4', read: [], write: [] },
};
const KEYS = ['p/a', 'k2', 'w', 'z'];
/** Multi-key ranges read with Range. */
const RANGES: [string, string][] = [
  ['p/', 'p0'],
  ['k1', 'k3'],
  ['k1', 'k9'],
  ['\0', '\0'],
];

const within = (rs: Ranges, key: string, end: string) =>
  rs.some(([k, e]) =>
    e === ''
      ? end === '' && key === k
      : key >= k && (e === '\0' || (end === '' ? key < e : end !== '\0' && end <= e)),
  );
const mayRead = (u: string, key: string, end = '') => within(USERS[u]!.read, key, end);
const mayWrite = (u: string, key: string, end = '') => within(USERS[u]!.write, key, end);

const DENIED = 'PERMISSION_DENIED: etcdserver: permission denied';
const INVALID_TOKEN = 'UNAUTHENTICATED: etcdserver: invalid auth token';

const etcd = etcdSuite({ members: 1, name: 'auth-matrix', extraArgs: ['--bcrypt-cost', '4'] });
let admin: Etcd3;
let channel: Channel;
const kv = () => createClient(KVDefinition, channel);
const auth = () => createClient(AuthDefinition, channel);
const lease = () => createClient(LeaseDefinition, channel);
const tokens: Record<string, string> = {};
const md = (user: string) => ({ metadata: Metadata({ token: tokens[user]! }) });

beforeAll(async () => {
  admin = new Etcd3({ hosts: etcd.cluster.members[0]!.clientUrl });
  channel = createChannel(etcd.cluster.members[0]!.endpoint);
  // Set up with the etcd3 client's auth API.
  await admin.user('root').create(USERS.root!.password);
  await admin.user('root').addRole('root');
  await admin.role('r-prefix').create();
  await admin.role('r-prefix').grant({ permission: 'Readwrite', range: Range.prefix('p/') });
  await admin.role('r-read').create();
  await admin.role('r-read').grant({ permission: 'Read', range: new Range('k1', 'k5') });
  await admin.role('r-write').create();
  await admin.role('r-write').grant({ permission: 'Write', key: 'w' });
  for (const [name, u] of Object.entries(USERS)) {
    if (name === 'root') continue;
    await admin.user(name).create(u.password);
    const role = name.replace(/^u-/, 'r-');
    if (name !== 'u-none') await admin.user(name).addRole(role);
  }
  for (const k of KEYS) await admin.put(k).value('v0');
  await admin.auth.authEnable();
  for (const [name, u] of Object.entries(USERS))
    tokens[name] = (await auth().authenticate({ name, password: u.password })).token;
}, 60_000);

afterAll(async () => {
  admin?.close();
  channel?.close();
});

test('the etcd3 client reads back users, roles and permissions, and works with credentials', async () => {
  const c = new Etcd3({
    hosts: etcd.cluster.members[0]!.clientUrl,
    auth: { username: 'root', password: 'rootpw' },
  });
  try {
    expect((await c.getUsers()).map((u) => u.name).sort()).toEqual(Object.keys(USERS).sort());
    expect((await c.getRoles()).map((r) => r.name).sort()).toEqual(['r-prefix', 'r-read', 'r-write']);
    expect((await c.user('u-read').roles()).map((r) => r.name)).toEqual(['r-read']);
    const perms = await c.role('r-read').permissions();
    expect(perms.map((p) => [p.permission, p.range.start.toString(), p.range.end.toString()])).toEqual([
      ['Read', 'k1', 'k5'],
    ]);
    await c.put('etcd3-root').value('x');
    expect(await c.get('etcd3-root').string()).toBe('x');
    await c.delete().key('etcd3-root');
  } finally {
    c.close();
  }
  const limited = new Etcd3({
    hosts: etcd.cluster.members[0]!.clientUrl,
    auth: { username: 'u-prefix', password: 'p1' },
  });
  try {
    await limited.put('p/etcd3').value('y');
    expect(await limited.get('p/etcd3').string()).toBe('y');
    await expect(limited.put('outside').value('y')).rejects.toThrow('permission denied');
    await limited.delete().key('p/etcd3');
  } finally {
    limited.close();
  }
  const wrong = new Etcd3({
    hosts: etcd.cluster.members[0]!.clientUrl,
    auth: { username: 'u-prefix', password: 'bad' },
  });
  try {
    await expect(wrong.get('p/a').string()).rejects.toThrow(
      'authentication failed, invalid user ID or password',
    );
  } finally {
    wrong.close();
  }
});

describe.each(Object.keys(USERS))('user %s', (user) => {
  test.each(KEYS)('get, put, delete, txn, watch on %s', async (key) => {
    const r = mayRead(user, key);
    const w = mayWrite(user, key);
    const got = {
      get: await grpcOutcome(kv().range({ key: b(key) }, md(user))),
      put: await grpcOutcome(kv().put({ key: b(key), value: b('v1') }, md(user))),
      putPrevKv: await grpcOutcome(kv().put({ key: b(key), value: b('v0'), prevKv: true }, md(user))),
      txn: await grpcOutcome(
        kv().txn(
          {
            compare: [{ key: b(key), target: 3, result: 0, value: b('v0') }],
            success: [{ requestPut: { key: b(key), value: b('v0') } }],
            failure: [{ requestRange: { key: b(key) } }],
          },
          md(user),
        ),
      ),
      readTxn: await grpcOutcome(kv().txn({ success: [{ requestRange: { key: b(key) } }] }, md(user))),
      watch: await watchOutcome(channel, key, md(user).metadata),
      delete: await grpcOutcome(kv().deleteRange({ key: b(`${key}-gone`) }, md(user))),
    };
    expect(got).toEqual({
      get: r ? 'ok' : DENIED,
      put: w ? 'ok' : DENIED,
      putPrevKv: w && r ? 'ok' : DENIED,
      txn: r && w ? 'ok' : DENIED,
      readTxn: r ? 'ok' : DENIED,
      watch: r ? 'ok' : 'canceled: rpc error: code = PermissionDenied desc = etcdserver: permission denied',
      delete: mayWrite(user, `${key}-gone`) ? 'ok' : DENIED,
    });
  });

  test.each(RANGES)('range [%j, %j)', async (key, end) => {
    const got = await grpcOutcome(kv().range({ key: b(key), rangeEnd: b(end) }, md(user)));
    expect(got).toBe(mayRead(user, key, end) ? 'ok' : DENIED);
    const del = await grpcOutcome(
      kv().deleteRange({ key: b(`${key}~none`), rangeEnd: b(`${key}~none~`) }, md(user)),
    );
    expect(del).toBe(mayWrite(user, `${key}~none`, `${key}~none~`) ? 'ok' : DENIED);
  });

  test.each(KEYS)('lease revoke with %s attached', async (key) => {
    const leased = `${key}-leased`;
    const { ID } = await lease().leaseGrant({ TTL: 600n }, md('root'));
    await kv().put({ key: b(leased), value: b('l'), lease: ID }, md('root'));
    const got = await grpcOutcome(lease().leaseRevoke({ ID }, md(user)));
    expect(got).toBe(mayWrite(user, leased) ? 'ok' : DENIED);
    if (got !== 'ok') await lease().leaseRevoke({ ID }, md('root'));
  });
});

test('lock and unlock need permission on the lock keys (etcd runs them with the caller’s token)', async () => {
  const lock = createClient(LockDefinition, channel);
  const held = await lock.lock({ name: b('p/lock') }, md('u-prefix'));
  expect(held.key.toString()).toMatch(/^p\/lock\//);
  expect(await grpcOutcome(lock.unlock({ key: held.key }, md('u-prefix')))).toBe('ok');
  expect(await grpcOutcome(lock.lock({ name: b('x-lock') }, md('u-prefix')))).toBe(
    'UNKNOWN: etcdserver: permission denied',
  );
  expect(await grpcOutcome(lock.lock({ name: b('p/lock') }))).toBe('UNKNOWN: etcdserver: user name is empty');
});

test('admin calls need the root role', async () => {
  expect(await grpcOutcome(auth().userList({}, md('u-prefix')))).toBe(DENIED);
  expect(await grpcOutcome(auth().roleAdd({ name: 'r-x' }, md('u-prefix')))).toBe(DENIED);
  expect(await grpcOutcome(auth().userGet({ name: 'u-prefix' }, md('u-prefix')))).toBe('ok');
  expect(await grpcOutcome(auth().roleGet({ role: 'r-prefix' }, md('u-prefix')))).toBe('ok');
  expect(await grpcOutcome(auth().roleGet({ role: 'r-read' }, md('u-prefix')))).toBe(DENIED);
  expect(await grpcOutcome(auth().userList({}, md('root')))).toBe('ok');
  // No token at all: the user name is empty.
  expect(await grpcOutcome(kv().range({ key: b('p/a') }))).toBe(
    'INVALID_ARGUMENT: etcdserver: user name is empty',
  );
  expect(await grpcOutcome(auth().userList({}))).toBe('INVALID_ARGUMENT: etcdserver: user name is empty');
});

test('tokens: unknown ones are refused, and a password change or user deletion ends theirs', async () => {
  expect(await grpcOutcome(kv().range({ key: b('p/a') }, { metadata: Metadata({ token: 'nope.1' }) }))).toBe(
    INVALID_TOKEN,
  );
  expect(await watchOutcome(channel, 'p/a', Metadata({ token: 'nope.1' }))).toBe(
    'canceled: rpc error: code = Unauthenticated desc = etcdserver: invalid auth token',
  );
  const root = new Etcd3({
    hosts: etcd.cluster.members[0]!.clientUrl,
    auth: { username: 'root', password: 'rootpw' },
  });
  try {
    await root.user('u-temp').create('t1');
    await root.user('u-temp').addRole('r-prefix');
    const t1 = (await auth().authenticate({ name: 'u-temp', password: 't1' })).token;
    const m = { metadata: Metadata({ token: t1 }) };
    expect(await grpcOutcome(kv().range({ key: b('p/a') }, m))).toBe('ok');
    await root.user('u-temp').setPassword('t2');
    expect(await grpcOutcome(kv().range({ key: b('p/a') }, m))).toBe(INVALID_TOKEN);
    expect(await grpcOutcome(auth().authenticate({ name: 'u-temp', password: 't1' }))).toBe(
      'INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password',
    );
    const t2 = (await auth().authenticate({ name: 'u-temp', password: 't2' })).token;
    expect(await grpcOutcome(kv().range({ key: b('p/a') }, { metadata: Metadata({ token: t2 }) }))).toBe(
      'ok',
    );
    await root.user('u-temp').delete();
    expect(await grpcOutcome(kv().range({ key: b('p/a') }, { metadata: Metadata({ token: t2 }) }))).toBe(
      INVALID_TOKEN,
    );
    // Tokens of users these changes did not touch live on (test/compat/auth-token-lifetime).
    expect(await grpcOutcome(kv().range({ key: b('p/a') }, md('u-prefix')))).toBe('ok');
  } finally {
    root.close();
  }
});

test('fuzz: random tokens and malformed metadata are refused and never take the server down', async () => {
  const cases: Metadata[] = [];
  for (let i = 0; i < 60; i++) {
    const len = [0, 1, 16, 19, 200, 4000][i % 6]!;
    const raw = randomBytes(len);
    const printable = raw.toString('base64').slice(0, len);
    const md = Metadata();
    if (i % 5 === 0) md.set('token', `${printable}.${i}`);
    else if (i % 5 === 1) md.set('token', printable);
    else if (i % 5 === 2) md.set('authorization', printable);
    else if (i % 5 === 3) md.set('token-bin', raw);
    else {
      md.append('token', printable);
      md.append('token', tokens.root!);
    }
    cases.push(md);
  }
  const outcomes = new Set<string>();
  for (const metadata of cases) {
    const o = await grpcOutcome(kv().range({ key: b('p/a') }, { metadata }));
    outcomes.add(o.split(':')[0]!);
    await grpcOutcome(kv().put({ key: b('p/a'), value: b('f') }, { metadata }));
    await watchOutcome(channel, 'p/a', metadata);
  }
  // Refusals only ever say the token is invalid or missing.
  for (const o of outcomes) expect(['UNAUTHENTICATED', 'INVALID_ARGUMENT', 'ok']).toContain(o);
  expect(outcomes.has('UNAUTHENTICATED')).toBe(true);
  // Still serving, with auth still on.
  expect(await grpcOutcome(kv().range({ key: b('p/a') }, md('root')))).toBe('ok');
  expect(await grpcOutcome(kv().range({ key: b('p/a') }))).toBe(
    'INVALID_ARGUMENT: etcdserver: user name is empty',
  );
});

test('a simple token unused for --auth-token-ttl expires', async () => {
  const c = await startEtcd({
    members: 1,
    name: 'auth-ttl',
    extraArgs: ['--bcrypt-cost', '4', '--auth-token-ttl', '1'],
  });
  const ch = createChannel(c.members[0]!.endpoint);
  try {
    const a = createClient(AuthDefinition, ch);
    await a.userAdd({ name: 'root', password: 'r' });
    await a.userGrantRole({ user: 'root', role: 'root' });
    await a.authEnable({});
    const { token } = await a.authenticate({ name: 'root', password: 'r' });
    const m = { metadata: Metadata({ token }) };
    expect(await grpcOutcome(createClient(KVDefinition, ch).range({ key: b('k') }, m))).toBe('ok');
    // Unused for a few TTLs (etcd sweeps expired tokens once a second).
    await sleep(4000);
    expect(await grpcOutcome(createClient(KVDefinition, ch).range({ key: b('k') }, m))).toBe(INVALID_TOKEN);
  } finally {
    ch.close();
    await c.close();
  }
}, 60_000);
