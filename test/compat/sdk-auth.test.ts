/**
 * The SDK with `auth: { username, password }` against the target with auth on: it
 * authenticates on its first call, sends the token on unary calls and streams (watch, lease
 * keepalive), and authenticates again when its token has expired (--auth-token-ttl 1 here).
 */
import {
  AuthFailedError,
  PermissionDeniedError,
  RoleNotFoundError,
  UserNotFoundError,
  type WatchEvent,
} from '../../src/index.js';
import { sleep } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { Reader } from './watch-helpers.js';

const etcd = etcdSuite({
  members: 1,
  name: 'sdk-auth',
  extraArgs: ['--bcrypt-cost', '4', '--auth-token-ttl', '1'],
});
const client = (username: string, password: string) =>
  etcd.newClient(etcd.cluster.endpoints, { auth: { username, password } });

beforeAll(async () => {
  const ctl = (...args: string[]) => etcd.cluster.etcdctl(args, { check: true });
  await ctl('user', 'add', 'root:rootpw', '--interactive=false');
  await ctl('user', 'add', 'alice:apw', '--interactive=false');
  await ctl('role', 'add', 'r-app');
  await ctl('role', 'grant-permission', 'r-app', '--prefix=true', 'readwrite', 'app/');
  await ctl('user', 'grant-role', 'alice', 'r-app');
  await ctl('auth', 'enable');
}, 60_000);

test('a client with credentials reads and writes what its roles allow', async () => {
  const c = client('alice', 'apw');
  await c.put('app/x', '1');
  expect(await c.getString('app/x')).toBe('1');
  await expect(c.put('other', '1')).rejects.toBeInstanceOf(PermissionDeniedError);
});

test('wrong credentials fail with AuthFailedError', async () => {
  await expect(client('alice', 'nope').get('app/x')).rejects.toBeInstanceOf(AuthFailedError);
  await expect(client('nobody', 'x').get('app/x')).rejects.toBeInstanceOf(AuthFailedError);
});

test('an expired token is replaced without the caller noticing', async () => {
  const c = client('alice', 'apw');
  await c.put('app/ttl', 'a');
  // Unused for several token TTLs: the server has dropped the token.
  await sleep(4000);
  expect(await c.getString('app/ttl')).toBe('a');
  await sleep(4000);
  await c.put('app/ttl', 'b');
  expect(await c.getString('app/ttl')).toBe('b');
});

test('watches and kept leases carry the token', async () => {
  const c = client('alice', 'apw');
  const r = new Reader(await c.watch('app/w', { timeoutMs: 10_000 }));
  const put = await c.put('app/w', 'v');
  const summary = (evs: WatchEvent[]) => evs.map((e) => [e.type, e.key.toString(), e.revision]);
  expect(summary(await r.events(1))).toEqual([['put', 'app/w', put.header.revision]]);
  const lease = await c.lease({ ttl: 5 });
  await c.put('app/leased', 'v', { lease: lease.id });
  expect((await c.get('app/leased'))?.lease).toBe(lease.id);
  await lease.revoke();
  expect(await c.get('app/leased')).toBeUndefined();
});

test('client.auth manages users, roles and permissions', async () => {
  const root = client('root', 'rootpw');
  await root.auth.addRole('r-sdk');
  await root.auth.grantPermission('r-sdk', 'readwrite', { prefix: 'sdk/' });
  await root.auth.grantPermission('r-sdk', 'read', { key: 'k1', end: 'k5' });
  await root.auth.addUser('bob', 'bpw');
  await root.auth.grantRole('bob', 'r-sdk');
  expect(await root.auth.getUser('bob')).toEqual(['r-sdk']);
  expect(await root.auth.users()).toEqual(['alice', 'bob', 'root']);
  expect(await root.auth.roles()).toEqual(['r-app', 'r-sdk', 'root']);
  const perms = (await root.auth.getRole('r-sdk')).map((p) => [p.type, p.key.toString(), p.end.toString()]);
  expect(perms).toEqual([
    ['read', 'k1', 'k5'],
    ['readwrite', 'sdk/', 'sdk0'],
  ]);
  const bob = client('bob', 'bpw');
  await bob.put('sdk/x', '1');
  await expect(bob.auth.users()).rejects.toBeInstanceOf(PermissionDeniedError);
  await root.auth.revokePermission('r-sdk', { prefix: 'sdk/' });
  await expect(bob.put('sdk/y', '1')).rejects.toBeInstanceOf(PermissionDeniedError);
  await root.auth.changePassword('bob', 'bpw2');
  await expect(client('bob', 'bpw').get('k2')).rejects.toBeInstanceOf(AuthFailedError);
  expect(await client('bob', 'bpw2').get('k2')).toBeUndefined();
  await root.auth.revokeRole('bob', 'r-sdk');
  await root.auth.deleteUser('bob');
  await root.auth.deleteRole('r-sdk');
  await expect(root.auth.getUser('bob')).rejects.toBeInstanceOf(UserNotFoundError);
  await expect(root.auth.getRole('r-sdk')).rejects.toBeInstanceOf(RoleNotFoundError);
});
