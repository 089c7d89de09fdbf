/**
 * JWT tokens (`--auth-token jwt,pub-key=…,priv-key=…,sign-method=…`) against the target, with
 * keys generated at test time: etcd's claims (username, revision, exp), permissions applied as
 * with simple tokens, a tampered token refused, and a token issued before the auth store
 * changed refused as stale.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { AuthDefinition, KVDefinition } from '../../src/gen/etcdserverpb/rpc.js';
import { startEtcd } from '../harness/etcd.js';
import { grpcOutcome } from '../harness/grpc-outcome.js';

const b = (s: string) => Buffer.from(s);

// Not on etcdSuite(): each algorithm needs a cluster started with its own key pair.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'auth-jwt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test.each(['RS256', 'ES256'])(
  '%s tokens',
  async (alg) => {
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
      const kv = createClient(KVDefinition, channel);
      await auth.userAdd({ name: 'root', password: 'rootpw' });
      await auth.userGrantRole({ user: 'root', role: 'root' });
      await auth.roleAdd({ name: 'r' });
      await auth.roleGrantPermission({ name: 'r', perm: { permType: 2, key: b('p/'), rangeEnd: b('p0') } });
      await auth.userAdd({ name: 'u', password: 'upw' });
      await auth.userGrantRole({ user: 'u', role: 'r' });
      await auth.authEnable({});

      const { token } = await auth.authenticate({ name: 'u', password: 'upw' });
      const [header, payload, signature] = token.split('.');
      expect(JSON.parse(Buffer.from(header!, 'base64url').toString()).alg).toBe(alg);
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      expect(claims).toEqual({ username: 'u', revision: expect.any(Number), exp: expect.any(Number) });
      const md = (t: string) => ({ metadata: Metadata({ token: t }) });
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
      expect(await grpcOutcome(kv.range({ key: b('p/x') }, md(token)))).toBe(
        'INVALID_ARGUMENT: etcdserver: revision of auth store is old',
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
