/**
 * JWT tokens (`--auth-token jwt,pub-key=…,priv-key=…,sign-method=…`) against the target, with
 * keys generated at test time: etcd's claims (username, revision, exp), permissions applied as
 * with simple tokens, a tampered token refused, and a token issued before the auth store
 * changed refused as stale, on calls and watch creates; the SDK authenticates again, once per
 * call, when its token is refused as stale.
 */
import { generateKeyPairSync } from 'node:crypto';
import diagnostics_channel from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Channel, createChannel, createClient, Metadata } from 'nice-grpc';
import { CHANNELS } from '../../src/client/diagnostics.js';
import { AuthDefinition, KVDefinition } from '../../src/gen/etcdserverpb/rpc.js';
import { Client } from '../../src/index.js';
import { type EtcdCluster, startEtcd } from '../harness/etcd.js';
import { grpcOutcome, watchOutcome } from '../harness/grpc-outcome.js';

const b = (s: string) => Buffer.from(s);

// Not on etcdSuite(): each algorithm needs a cluster started with its own key pair.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'auth-jwt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const STALE = 'etcdserver: revision of auth store is old';
const md = (t: string) => ({ metadata: Metadata({ token: t }) });

/**
 * A member with a fresh `alg` key pair, root, and user u (password upw) who may read and write
 * p/; auth enabled.
 */
async function startJwtMember(alg: string): Promise<{ cluster: EtcdCluster; channel: Channel }> {
  const { publicKey, privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = path.join(dir, `${alg}.pub.pem`);
  const priv = path.join(dir, `${alg}.priv.pem`);
  await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const cluster = await startEtcd({
    members: 1,
    name: `auth-jwt-${alg.toLowerCase()}`,
    extraArgs: [
      '--bcrypt-cost',
      '4',
      '--auth-token',
      `jwt,pub-key=${pub},priv-key=${priv},sign-method=${alg}`,
    ],
  });
  const channel = createChannel(cluster.members[0]!.endpoint);
  try {
    const auth = createClient(AuthDefinition, channel);
    await auth.userAdd({ name: 'root', password: 'rootpw' });
    await auth.userGrantRole({ user: 'root', role: 'root' });
    await auth.roleAdd({ name: 'r' });
    await auth.roleGrantPermission({ name: 'r', perm: { permType: 2, key: b('p/'), rangeEnd: b('p0') } });
    await auth.userAdd({ name: 'u', password: 'upw' });
    await auth.userGrantRole({ user: 'u', role: 'r' });
    await auth.authEnable({});
    return { cluster, channel };
  } catch (err) {
    channel.close();
    await cluster.close();
    throw err;
  }
}

test.each(['RS256', 'ES256'])(
  '%s tokens',
  async (alg) => {
    const { cluster, channel } = await startJwtMember(alg);
    try {
      const auth = createClient(AuthDefinition, channel);
      const kv = createClient(KVDefinition, channel);
      const { token } = await auth.authenticate({ name: 'u', password: 'upw' });
      const [header, payload, signature] = token.split('.');
      expect(JSON.parse(Buffer.from(header!, 'base64url').toString()).alg).toBe(alg);
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      expect(claims).toEqual({ username: 'u', revision: expect.any(Number), exp: expect.any(Number) });
      expect(await grpcOutcome(kv.put({ key: b('p/x'), value: b('v') }, md(token)))).toBe('ok');
      expect(await grpcOutcome(kv.range({ key: b('p/x') }, md(token)))).toBe('ok');
      expect(await grpcOutcome(kv.put({ key: b('q'), value: b('v') }, md(token)))).toBe(
        'PERMISSION_DENIED: etcdserver: permission denied',
      );
      // Another user's name in the claims, with the signature left as it was.
      const forged = Buffer.from(JSON.stringify({ ...claims, username: 'root' })).toString('base64url');
      expect(await grpcOutcome(kv.range({ key: b('q') }, md(`${header}.${forged}.${signature}`)))).toBe(
        'UNAUTHENTICATED: etcdserver: invalid auth token',
      );
      expect(await grpcOutcome(kv.range({ key: b('p/x') }, md('not.a.jwt')))).toBe(
        'UNAUTHENTICATED: etcdserver: invalid auth token',
      );
      // The auth store moves on: the token's revision is old.
      const rootToken = (await auth.authenticate({ name: 'root', password: 'rootpw' })).token;
      await auth.roleAdd({ name: 'r2' }, md(rootToken));
      expect(await grpcOutcome(kv.range({ key: b('p/x') }, md(token)))).toBe(`INVALID_ARGUMENT: ${STALE}`);
      expect(await grpcOutcome(kv.put({ key: b('p/x'), value: b('w') }, md(token)))).toBe(
        `INVALID_ARGUMENT: ${STALE}`,
      );
      expect(await watchOutcome(channel, 'p/x', md(token).metadata)).toBe(
        `canceled: rpc error: code = InvalidArgument desc = ${STALE}`,
      );
      const fresh = (await auth.authenticate({ name: 'u', password: 'upw' })).token;
      expect(await grpcOutcome(kv.range({ key: b('p/x') }, md(fresh)))).toBe('ok');
    } finally {
      channel.close();
      await cluster.close();
    }
  },
  60_000,
);

test('the SDK authenticates again, once per call, when its JWT is refused as stale', async () => {
  const { cluster, channel } = await startJwtMember('ES256');
  const c = new Client({ endpoints: cluster.endpoints, auth: { username: 'u', password: 'upw' } });
  const refreshes: string[] = [];
  const heard = (m: unknown) => refreshes.push((m as { reason: string }).reason);
  diagnostics_channel.subscribe(CHANNELS.tokenRefresh, heard);
  try {
    const auth = createClient(AuthDefinition, channel);
    const root = async () => md((await auth.authenticate({ name: 'root', password: 'rootpw' })).token);
    await c.put('p/sdk', '1');
    expect(refreshes).toEqual(['initial']);

    // Each change moves the auth revision on: the SDK's token is refused, it authenticates
    // again and the call goes through (a read, a write, a watch).
    await auth.roleAdd({ name: 'r2' }, await root());
    expect(await c.getString('p/sdk')).toBe('1');
    await auth.roleDelete({ role: 'r2' }, await root());
    await c.put('p/sdk', '2');
    expect(refreshes).toEqual(['initial', 'refused', 'refused']);
    await auth.roleAdd({ name: 'r3' }, await root());
    const ac = new AbortController();
    const watch = await c.watch({ prefix: 'p/' }, { signal: ac.signal, timeoutMs: 10_000 });
    const put = await c.put('p/sdk', '3');
    for await (const ev of watch) {
      expect([ev.key.toString(), ev.revision]).toEqual(['p/sdk', put.header.revision]);
      break;
    }
    ac.abort();
    expect(refreshes).toEqual(['initial', 'refused', 'refused', 'refused']);

    // A fresh token that cannot be had (the password changed): the call fails after one try.
    await auth.userChangePassword({ name: 'u', password: 'other' }, await root());
    await expect(c.getString('p/sdk')).rejects.toThrow(
      'etcdserver: authentication failed, invalid user ID or password',
    );
    expect(refreshes).toHaveLength(4);
  } finally {
    diagnostics_channel.unsubscribe(CHANNELS.tokenRefresh, heard);
    c.close();
    channel.close();
    await cluster.close();
  }
}, 60_000);
