/**
 * Auth on one Concord member: users, roles and the enabled flag survive a restart (replayed
 * from the WAL and restored from a snapshot), tokens do not (as etcd's simple tokens), the
 * JSON gateway takes the token in the Authorization header, and the auth flags are validated.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Channel, createChannel, createClient, Metadata } from 'nice-grpc';
import { AuthDefinition, KVDefinition } from '../../src/gen/etcdserverpb/rpc.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';
import { ROOT } from '../harness/fixtures.js';
import { grpcMessage } from '../harness/grpc-outcome.js';

const b = (s: string) => Buffer.from(s);
const b64 = (s: string) => Buffer.from(s).toString('base64');

let server: Concord;
let channel: Channel;
const auth = () => createClient(AuthDefinition, channel);
const kv = () => createClient(KVDefinition, channel);

beforeAll(async () => {
  ensureServerBuilt();
  server = await startConcord({ args: ['--snapshot-count', '5', '--bcrypt-cost', '4'] });
  channel = createChannel(server.endpoint);
}, 120_000);

afterAll(async () => {
  channel?.close();
  await server?.close();
});

test('users, roles and the enabled flag survive restarts; tokens do not', async () => {
  await auth().userAdd({ name: 'root', password: 'rootpw' });
  await auth().userGrantRole({ user: 'root', role: 'root' });
  await auth().roleAdd({ name: 'r' });
  await auth().roleGrantPermission({
    name: 'r',
    perm: { permType: 2, key: b('p/'), rangeEnd: b('p0') },
  });
  await auth().userAdd({ name: 'u', password: 'upw' });
  await auth().userGrantRole({ user: 'u', role: 'r' });
  await auth().authEnable({});
  const rootToken = (await auth().authenticate({ name: 'root', password: 'rootpw' })).token;
  // Enough writes for a snapshot (--snapshot-count 5), then a few more for the WAL to replay.
  for (let i = 0; i < 12; i++)
    await kv().put({ key: b(`p/${i}`), value: b('v') }, { metadata: Metadata({ token: rootToken }) });
  const status = await auth().authStatus({}, { metadata: Metadata({ token: rootToken }) });
  expect(status.enabled).toBe(true);

  for (let round = 0; round < 2; round++) {
    await server.restart();
    channel.close();
    channel = createChannel(server.endpoint);
    expect(
      await grpcMessage(kv().range({ key: b('p/1') }, { metadata: Metadata({ token: rootToken }) })),
    ).toBe('etcdserver: invalid auth token');
    expect(await grpcMessage(kv().range({ key: b('p/1') }))).toBe('etcdserver: user name is empty');
    const { token } = await auth().authenticate({ name: 'u', password: 'upw' });
    const md = { metadata: Metadata({ token }) };
    expect(await grpcMessage(kv().put({ key: b('p/new'), value: b('v') }, md))).toBe('ok');
    expect(await grpcMessage(kv().put({ key: b('q'), value: b('v') }, md))).toBe(
      'etcdserver: permission denied',
    );
    const root = (await auth().authenticate({ name: 'root', password: 'rootpw' })).token;
    const after = await auth().authStatus({}, { metadata: Metadata({ token: root }) });
    expect(after.enabled).toBe(true);
    expect(after.authRevision).toBe(status.authRevision);
    expect((await auth().userList({}, { metadata: Metadata({ token: root }) })).users).toEqual(['root', 'u']);
  }
}, 120_000);

test('the JSON gateway takes the token in the Authorization header', async () => {
  const post = async (path: string, body: unknown, token?: string) => {
    const res = await fetch(`http://${server.endpoint}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: token ? { authorization: token } : {},
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const { json } = await post('/v3/auth/authenticate', { name: 'u', password: 'upw' });
  const token = json.token as string;
  expect(typeof token).toBe('string');
  expect((await post('/v3/kv/put', { key: b64('p/gw'), value: b64('v') }, token)).status).toBe(200);
  const denied = await post('/v3/kv/put', { key: b64('q'), value: b64('v') }, token);
  expect(denied).toEqual({
    status: 403,
    json: { error: 'etcdserver: permission denied', code: 7, message: 'etcdserver: permission denied' },
  });
  expect((await post('/v3/kv/range', { key: b64('p/gw') })).json.message).toBe(
    'etcdserver: user name is empty',
  );
  expect((await post('/v3/kv/range', { key: b64('p/gw') }, 'bogus.1')).status).toBe(401);
  expect((await post('/v3/auth/user/list', {}, token)).status).toBe(403);
});

test('auth flags are validated with the bad value quoted', () => {
  const serve = (...args: string[]) =>
    spawnSync('node', [`${ROOT}/dist/src/cli/main.js`, 'serve', '--data-dir', '/nonexistent/x', ...args], {
      encoding: 'utf8',
      timeout: 20_000,
    });
  expect(serve('--bcrypt-cost', '3').stderr).toContain('--bcrypt-cost: expected 4 to 31, got "3"');
  expect(serve('--auth-token', 'jwt,pub-key=a').stderr).toContain(
    '--auth-token: jwt needs pub-key=<file> and sign-method=<alg> (priv-key=<file> to sign), got "jwt,pub-key=a"',
  );
  expect(serve('--auth-token', 'opaque').stderr).toContain(
    '--auth-token: expected "simple" or "jwt", got "opaque"',
  );
  expect(serve('--auth-token', 'jwt,pub-key=/nonexistent.pem,sign-method=RS256').stderr).toContain(
    '--auth-token: cannot read pub-key "/nonexistent.pem"',
  );
  // A private key from another pair: etcd's "public and private keys don't match".
  const dir = mkdtempSync(path.join(os.tmpdir(), 'auth-keys-'));
  try {
    const pem = (k: KeyObject, type: 'spki' | 'pkcs8') => k.export({ type, format: 'pem' }) as string;
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(path.join(dir, 'pub.pem'), pem(a.publicKey, 'spki'));
    writeFileSync(path.join(dir, 'priv.pem'), pem(other.privateKey, 'pkcs8'));
    const spec = `jwt,pub-key=${dir}/pub.pem,priv-key=${dir}/priv.pem,sign-method=ES256`;
    expect(serve('--auth-token', spec).stderr).toContain("--auth-token: public and private keys don't match");
    expect(serve('--auth-token', spec.replace('ES256', 'RS256')).stderr).toContain(
      `--auth-token: pub-key "${dir}/pub.pem" is not a RS256 key`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(serve('--auth-token-ttl', '0').stderr).toContain(
    '--auth-token-ttl: expected an integer ≥ 1, got "0"',
  );
});
