/**
 * `concord serve` logs as etcd 3.5 does: JSON lines with level, ts, msg and the member's name
 * and ID; --log-level leaves out what is below it; --log-outputs writes where it is told;
 * --log-format console is the readable form. No password and no token (simple or JWT) reaches
 * the output at debug level, through a session of auth calls that uses and refuses them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { AuthDefinition, KVDefinition } from '../../src/gen/etcdserverpb/rpc.js';
import { waitFor } from '../harness/etcd.js';
import { cliSuite, jsonLines, ports, serveArgs, startReady, stop, tempDir } from './cli-helpers.js';

cliSuite();

const READY = /ready to serve client requests on (\S+)/;

async function namedServeArgs(name: string, ...extra: string[]) {
  const dir = await tempDir();
  const member = await ports();
  return {
    dir,
    client: member.client,
    args: serveArgs(path.join(dir, 'data'), member, '--name', name, ...extra),
  };
}

test('serve logs JSON lines with level, ts, msg, name and member-id, and the ready line', async () => {
  const { args } = await namedServeArgs('json-member');
  const member = await startReady(args);
  await waitFor(() => READY.test(member.stderr()), { timeoutMs: 5000, what: 'the ready line in the log' });
  expect(await stop(member)).toBe(0);
  const lines = jsonLines(member.stderr());
  expect(lines.length).toBeGreaterThan(3);
  for (const l of lines) {
    expect(['debug', 'info', 'warn', 'error']).toContain(l.level);
    expect(String(l.ts)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(typeof l.msg).toBe('string');
    expect(String(l.msg)).not.toMatch(/^concord: /);
    expect(l.name).toBe('json-member');
  }
  const ready = lines.find((l) => READY.test(String(l.msg)));
  expect(ready?.level).toBe('info');
  expect(String(ready?.['member-id'])).toMatch(/^[0-9a-f]{1,16}$/);
  // Leader changes with their figures.
  const leader = lines.find((l) => String(l.msg).includes('became leader'));
  expect(leader).toMatchObject({ term: expect.any(Number), role: 'leader' });
  expect(lines.some((l) => l.msg === 'SIGTERM: shutting down')).toBe(true);
}, 60_000);

test('--log-format console is the readable form, and still says it is ready', async () => {
  const { args } = await namedServeArgs('pretty-member', '--log-format', 'console');
  const member = await startReady(args);
  await waitFor(() => READY.test(member.stderr()), { timeoutMs: 5000, what: 'the ready line in the log' });
  expect(await stop(member)).toBe(0);
  expect(member.stderr()).toMatch(
    /INFO \(pretty-member\): ready to serve client requests on 127\.0\.0\.1:\d+/,
  );
  expect(() => JSON.parse(member.stderr().split('\n')[0]!)).toThrow();
}, 60_000);

test('--log-level warn leaves out info lines', async () => {
  const { args } = await namedServeArgs('quiet-member', '--log-level', 'warn', '--max-wals', '5');
  const member = await startReady(args);
  expect(await stop(member)).toBe(0);
  const lines = jsonLines(member.stderr());
  expect(lines.map((l) => l.msg)).toEqual([
    'ignoring --max-wals (not implemented by Concord): WAL segments are released once a snapshot covers them',
  ]);
  // The ready line is still on stdout (scripts and harnesses wait for it there).
  expect(member.stdout()).toMatch(READY);
}, 60_000);

test('--log-outputs <file> writes the JSON lines there, not to stderr', async () => {
  const { dir, args } = await namedServeArgs('file-member');
  const file = path.join(dir, 'member.log');
  const member = await startReady([...args, '--log-outputs', file]);
  expect(await stop(member)).toBe(0);
  expect(member.stderr()).toBe('');
  const lines = jsonLines(await readFile(file, 'utf8'));
  expect(lines.some((l) => READY.test(String(l.msg)) && l.name === 'file-member')).toBe(true);
  expect(lines.some((l) => l.msg === 'SIGTERM: shutting down')).toBe(true);
}, 60_000);

/**
 * An auth session at debug level: root and a user are added with passwords, auth is enabled,
 * tokens are issued and used, a wrong password and a retired token are refused, a password is
 * changed. Returns every secret that went over the wire.
 */
async function authSession(client: number): Promise<string[]> {
  const channel = createChannel(`127.0.0.1:${client}`);
  try {
    const auth = createClient(AuthDefinition, channel);
    const kv = createClient(KVDefinition, channel);
    const secrets = [
      'R00t-Passw0rd-xyz',
      'Al1ce-Passw0rd-xyz',
      'Wr0ng-Passw0rd-xyz',
      'Al1ce-N3w-Passw0rd-xyz',
    ];
    await auth.userAdd({ name: 'root', password: secrets[0]! });
    await auth.userGrantRole({ user: 'root', role: 'root' });
    await auth.userAdd({ name: 'alice', password: secrets[1]! });
    await auth.roleAdd({ name: 'rw' });
    await auth.roleGrantPermission({
      name: 'rw',
      perm: { permType: 2, key: Buffer.from('a/'), rangeEnd: Buffer.from('a0') },
    });
    await auth.userGrantRole({ user: 'alice', role: 'rw' });
    await auth.authEnable({});
    const as = (token: string) => ({ metadata: Metadata({ token }) });
    const root = (await auth.authenticate({ name: 'root', password: secrets[0]! })).token;
    const alice = (await auth.authenticate({ name: 'alice', password: secrets[1]! })).token;
    secrets.push(root, alice);
    await kv.put({ key: Buffer.from('a/1'), value: Buffer.from('x') }, as(alice));
    await expect(auth.authenticate({ name: 'alice', password: secrets[2]! })).rejects.toThrow();
    await expect(kv.put({ key: Buffer.from('b/1'), value: Buffer.from('x') }, as(alice))).rejects.toThrow();
    await auth.userChangePassword({ name: 'alice', password: secrets[3]! }, as(root));
    // The change retires alice's token (simple tokens): a call with it is refused.
    await kv.range({ key: Buffer.from('a/1') }, as(alice)).catch(() => undefined);
    const again = (await auth.authenticate({ name: 'alice', password: secrets[3]! })).token;
    secrets.push(again);
    await kv.range({ key: Buffer.from('a/1') }, as(again));
    await expect(
      kv.range({ key: Buffer.from('a/1') }, as('not-a-real-token-but-secret-looking')),
    ).rejects.toThrow(/invalid auth token/);
    secrets.push('not-a-real-token-but-secret-looking');
    return secrets;
  } finally {
    channel.close();
  }
}

test.each(['simple', 'jwt'])(
  'at --log-level debug, no password and no %s token reaches the output',
  async (kind) => {
    const { dir, client, args } = await namedServeArgs(
      `secret-${kind}`,
      '--log-level',
      'debug',
      '--bcrypt-cost',
      '4',
    );
    if (kind === 'jwt') {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pub = path.join(dir, 'jwt.pub');
      const priv = path.join(dir, 'jwt.key');
      await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
      await writeFile(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
      args.push('--auth-token', `jwt,pub-key=${pub},priv-key=${priv},sign-method=ES256,ttl=5m`);
    }
    const member = await startReady(args);
    const secrets = await authSession(client);
    if (kind === 'jwt') expect(secrets[4]!.split('.')).toHaveLength(3);
    expect(await stop(member)).toBe(0);
    const out = member.stdout() + member.stderr();
    const lines = jsonLines(member.stderr());
    // The log did say things at debug level about these very requests.
    const debug = lines.filter((l) => l.level === 'debug');
    expect(debug.length).toBeGreaterThan(5);
    expect(debug.some((l) => l.request === 'authenticate')).toBe(true);
    expect(debug.some((l) => l.request === 'authUserAdd')).toBe(true);
    for (const s of secrets) expect(out).not.toContain(s);
    // Not even a piece of one (a token's signature, a password's tail).
    for (const s of secrets) expect(out).not.toContain(s.slice(-12));
  },
  60_000,
);
