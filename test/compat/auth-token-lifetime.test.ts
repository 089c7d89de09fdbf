/**
 * How long a simple token lives, against the target (real etcd 3.4 in the 'etcd' project,
 * Concord in 'concord'), over raw gRPC and the JSON gateway. As etcd's tokenSimple: a token
 * names its user and lives until its TTL, its user's deletion or password change, or auth being
 * disabled. Other changes of users, roles or permissions (each one a new auth revision) leave
 * every token valid, and each request is checked against its user's roles as they are then: a
 * granted permission works and a revoked one is refused at once, with the same token.
 */
import http from 'node:http';
import { type Channel, createChannel, createClient, Metadata } from 'nice-grpc';
import { AuthDefinition, KVDefinition } from '../../src/gen/etcdserverpb/rpc.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { grpcOutcome, watchOutcome } from '../harness/grpc-outcome.js';

const b = (s: string) => Buffer.from(s);
const READ = 0;
const READWRITE = 2;
const DENIED = 'PERMISSION_DENIED: etcdserver: permission denied';
const INVALID_TOKEN = 'UNAUTHENTICATED: etcdserver: invalid auth token';

const etcd = etcdSuite({ members: 1, name: 'auth-token-lifetime', extraArgs: ['--bcrypt-cost', '4'] });
let channel: Channel;
const kv = () => createClient(KVDefinition, channel);
const auth = () => createClient(AuthDefinition, channel);
const md = (token: string) => ({ metadata: Metadata({ token }) });
const login = async (name: string, password: string) => (await auth().authenticate({ name, password })).token;
const get = (key: string, token: string) => grpcOutcome(kv().range({ key: b(key) }, md(token)));

/** A range through the JSON gateway with the token in the Authorization header (etcd's swagger field). */
function gatewayGet(key: string, token: string): Promise<{ status: number; error?: string; code?: number }> {
  const body = JSON.stringify({ key: b(key).toString('base64') });
  const url = `${etcd.cluster.members[0]!.clientUrl}/v3/kv/range`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', authorization: token },
        timeout: 5000,
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          data += c;
        });
        res.on('end', () => {
          const j = JSON.parse(data) as { error?: string; code?: number };
          resolve({ status: res.statusCode ?? 0, error: j.error, code: j.code });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out: POST ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  channel = createChannel(etcd.cluster.members[0]!.endpoint);
  const a = auth();
  await a.userAdd({ name: 'root', password: 'rootpw' });
  await a.userGrantRole({ user: 'root', role: 'root' });
  await a.roleAdd({ name: 'r-p' });
  await a.roleGrantPermission({
    name: 'r-p',
    perm: { permType: READWRITE, key: b('p/'), rangeEnd: b('p0') },
  });
  await a.roleAdd({ name: 'r-q' });
  for (const [name, password] of [
    ['u', 'upw'],
    ['v', 'vpw'],
  ] as const) {
    await a.userAdd({ name, password });
    await a.userGrantRole({ user: name, role: 'r-p' });
  }
  await kv().put({ key: b('p/a'), value: b('1') });
  await kv().put({ key: b('q/a'), value: b('1') });
  await a.authEnable({});
}, 60_000);

afterAll(() => {
  channel?.close();
});

test('a change of roles or permissions leaves tokens valid; each request sees the roles as they are', async () => {
  const u = await login('u', 'upw');
  const v = await login('v', 'vpw');
  const root = await login('root', 'rootpw');
  expect(await get('p/a', u)).toBe('ok');

  // A change that has nothing to do with u: a new auth revision, every token still good.
  expect(await grpcOutcome(auth().roleAdd({ name: 'r-other' }, md(root)))).toBe('ok');
  expect(await get('p/a', u)).toBe('ok');
  expect(await get('p/a', v)).toBe('ok');
  expect(await gatewayGet('p/a', u)).toEqual({ status: 200 });
  expect(await grpcOutcome(kv().put({ key: b('p/b'), value: b('2') }, md(u)))).toBe('ok');
  expect(await watchOutcome(channel, 'p/a', md(u).metadata)).toBe('ok');
  // Root's own token outlives the change it made.
  expect(await grpcOutcome(auth().roleDelete({ role: 'r-other' }, md(root)))).toBe('ok');

  // A permission granted to u's role works at once with the token u already holds.
  expect(await get('q/a', u)).toBe(DENIED);
  await auth().roleGrantPermission(
    { name: 'r-q', perm: { permType: READ, key: b('q/'), rangeEnd: b('q0') } },
    md(root),
  );
  await auth().userGrantRole({ user: 'u', role: 'r-q' }, md(root));
  expect(await get('q/a', u)).toBe('ok');
  expect(await watchOutcome(channel, 'q/a', md(u).metadata)).toBe('ok');
  expect(await get('q/a', v)).toBe(DENIED);

  // A revoked one is refused at once, with the same token; the rest of u's permissions stay.
  await auth().roleRevokePermission({ role: 'r-q', key: b('q/'), rangeEnd: b('q0') }, md(root));
  expect(await get('q/a', u)).toBe(DENIED);
  expect(await watchOutcome(channel, 'q/a', md(u).metadata)).toBe(
    'canceled: rpc error: code = PermissionDenied desc = etcdserver: permission denied',
  );
  expect(await get('p/a', u)).toBe('ok');

  // A role taken away and given back: refused, then served, on the one token.
  await auth().userRevokeRole({ name: 'u', role: 'r-p' }, md(root));
  expect(await get('p/a', u)).toBe(DENIED);
  expect(await grpcOutcome(kv().put({ key: b('p/c'), value: b('3') }, md(u)))).toBe(DENIED);
  expect(await get('p/a', v)).toBe('ok');
  await auth().userGrantRole({ user: 'u', role: 'r-p' }, md(root));
  expect(await get('p/a', u)).toBe('ok');
  expect(await gatewayGet('p/a', u)).toEqual({ status: 200 });
  expect(await grpcOutcome(auth().userRevokeRole({ name: 'u', role: 'r-q' }, md(root)))).toBe('ok');
});

test('a password change or deletion ends that user’s tokens, and no one else’s', async () => {
  const u = await login('u', 'upw');
  const v = await login('v', 'vpw');
  const root = await login('root', 'rootpw');
  await auth().userChangePassword({ name: 'u', password: 'upw2' }, md(root));
  expect(await get('p/a', u)).toBe(INVALID_TOKEN);
  expect(await gatewayGet('p/a', u)).toEqual({
    status: 401,
    error: 'etcdserver: invalid auth token',
    code: 16,
  });
  expect(await watchOutcome(channel, 'p/a', md(u).metadata)).toBe(
    'canceled: rpc error: code = Unauthenticated desc = etcdserver: invalid auth token',
  );
  expect(await get('p/a', v)).toBe('ok');
  expect(await grpcOutcome(auth().userList({}, md(root)))).toBe('ok');
  expect(await grpcOutcome(auth().authenticate({ name: 'u', password: 'upw' }))).toBe(
    'INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password',
  );

  const u2 = await login('u', 'upw2');
  expect(await get('p/a', u2)).toBe('ok');
  await auth().userDelete({ name: 'u' }, md(root));
  expect(await get('p/a', u2)).toBe(INVALID_TOKEN);
  expect(await get('p/a', v)).toBe('ok');
  expect(await grpcOutcome(auth().userList({}, md(root)))).toBe('ok');
});

test('disabling auth ends every token', async () => {
  const v = await login('v', 'vpw');
  const root = await login('root', 'rootpw');
  await auth().authDisable({}, md(root));
  await auth().authEnable({});
  expect(await get('p/a', v)).toBe(INVALID_TOKEN);
  expect(await grpcOutcome(auth().userList({}, md(root)))).toBe(INVALID_TOKEN);
  expect(await get('p/a', await login('v', 'vpw'))).toBe('ok');
});
