/**
 * lock(), tryLock(), withLock() against real etcd: exclusion across processes, fencing tokens,
 * crash of a holder, interop with `etcdctl lock`, timeouts and aborts.
 */
import { LockLostError, LockTimeoutError, lock, tryLock, withLock } from '../../recipes/index.js';
import { Client, op } from '../../src/index.js';
import { type EtcdCluster, sleep, startEtcd, waitFor, withTimeout } from '../harness/etcd.js';
import { ensureBuilt, killAll, spawnFixture, spawnTracked } from '../harness/fixtures.js';

let cluster: EtcdCluster;
let client: Client;

beforeAll(async () => {
  ensureBuilt();
  cluster = await startEtcd({ members: 1, name: 'lock' });
  client = new Client({ endpoints: cluster.endpoints });
});
afterEach(killAll);
afterAll(async () => {
  client?.close();
  await cluster?.close();
});

const run = (script: string, env: Record<string, string>) =>
  spawnFixture(script, { ENDPOINTS: cluster.endpoints.join(','), ...env });

test('one holder at a time; tryLock fails while held; tokens increase', async () => {
  const a = await lock(client, 'l1', { ttl: 10 });
  expect(a.key.toString()).toBe(`l1/${a.lease.id.toString(16)}`);
  expect(await tryLock(client, 'l1', { ttl: 10 })).toBeUndefined();
  // tryLock left nothing queued behind.
  expect((await client.range({ prefix: 'l1/' })).kvs.map((kv) => kv.keyText())).toEqual([a.key.toString()]);
  const bPromise = lock(client, 'l1', { ttl: 10 });
  await sleep(200);
  await a.release();
  expect(a.signal.aborted).toBe(true);
  const b = await withTimeout(bPromise, 5000, 'second lock');
  expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
  await b.release();
  expect(await client.count({ prefix: 'l1/' })).toBe(0n);
});

test('12 processes increment a counter under lock: exact count, tokens strictly increasing', async () => {
  const n = 5;
  const procs = Array.from({ length: 12 }, () => run('lock-counter.mjs', { LOCK: 'ctr', N: String(n) }));
  const codes = await withTimeout(Promise.all(procs.map((p) => p.exited)), 60_000, 'contenders');
  for (const [i, c] of codes.entries())
    expect({ i, c, err: c === 0 ? '' : procs[i]!.stderr() }).toEqual({ i, c: 0, err: '' });
  expect(await client.getString('ctr-counter')).toBe(String(12 * n));
  const log = await client.range({ prefix: 'ctr-log/' }, { sort: { target: 'key', order: 'ascend' } });
  expect(log.kvs).toHaveLength(12 * n);
  const tokens = log.kvs.map((kv) => BigInt(kv.text()));
  for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
}, 90_000);

test('a holder killed with SIGKILL loses the lock within its TTL; the waiter gets it', async () => {
  const h = run('lock-holder.mjs', { LOCK: 'crash', TTL: '2' });
  await waitFor(() => h.lines.length > 0, { timeoutMs: 10_000, what: 'holder to lock' });
  const first = JSON.parse(h.lines[0]!);
  const waiter = lock(client, 'crash', { ttl: 10 });
  await sleep(300);
  h.child.kill('SIGKILL');
  const killedAt = Date.now();
  const got = await withTimeout(waiter, 8000, 'waiter to acquire');
  // Lease TTL 2 s (etcd may round a small TTL up to its minimum): well under the limit above.
  expect(Date.now() - killedAt).toBeLessThan(8000);
  expect(got.fencingToken).toBeGreaterThan(BigInt(first.token));
  await got.release();
});

test('etcdctl lock and lock() exclude each other', async () => {
  // etcdctl holds the lock while its command runs.
  const ep = `--endpoints=${cluster.endpoints.join(',')}`;
  spawnTracked('etcdctl', [ep, 'lock', 'mixed', 'sleep', '2'], { ETCDCTL_API: '3' });
  await waitFor(async () => (await client.count({ prefix: 'mixed/' })) > 0n, {
    timeoutMs: 5000,
    what: 'etcdctl lock',
  });
  const ctlKey = (await client.range({ prefix: 'mixed/' })).kvs[0]!;
  expect(ctlKey.keyText()).toBe(`mixed/${ctlKey.lease.toString(16)}`);
  expect(await tryLock(client, 'mixed', { ttl: 10 })).toBeUndefined();
  const ours = await withTimeout(lock(client, 'mixed', { ttl: 10 }), 10_000, 'lock after etcdctl');
  expect(ours.fencingToken).toBeGreaterThan(ctlKey.createRevision);
  // Now etcdctl must wait for us.
  const ctl2 = spawnTracked('etcdctl', [ep, 'lock', 'mixed', 'echo', 'got-it'], { ETCDCTL_API: '3' });
  await sleep(1000);
  expect(ctl2.lines).not.toContain('got-it');
  await ours.release();
  await waitFor(() => ctl2.lines.includes('got-it'), { timeoutMs: 5000, what: 'etcdctl to get the lock' });
}, 30_000);

test('guard(): a write fenced by the token fails once the lock has changed hands', async () => {
  const a = await lock(client, 'fence', { ttl: 10 });
  const ok = await client.txn().if(a.guard()).success(op.put('fenced', 'a')).commit();
  expect(ok.succeeded).toBe(true);
  await a.release();
  const b = await lock(client, 'fence', { ttl: 10 });
  const stale = await client.txn().if(a.guard()).success(op.put('fenced', 'stale')).commit();
  expect(stale.succeeded).toBe(false);
  expect(await client.getString('fenced')).toBe('a');
  await b.release();
});

test('waitTimeoutMs gives up with LockTimeoutError and leaves no queued key; abort likewise', async () => {
  const a = await lock(client, 'wait', { ttl: 10 });
  const err = await lock(client, 'wait', { ttl: 10, waitTimeoutMs: 300 }).catch((e) => e);
  expect(err).toBeInstanceOf(LockTimeoutError);
  const ac = new AbortController();
  const p = lock(client, 'wait', { ttl: 10, signal: ac.signal });
  await sleep(200);
  ac.abort();
  await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  expect((await client.range({ prefix: 'wait/' })).kvs.map((kv) => kv.keyText())).toEqual([a.key.toString()]);
  await a.release();
});

test('withLock passes the token and releases afterwards, even when fn throws', async () => {
  const token = await withLock(client, 'wl', async ({ fencingToken, signal }) => {
    expect(signal.aborted).toBe(false);
    expect(await client.count({ prefix: 'wl/' })).toBe(1n);
    return fencingToken;
  });
  expect(typeof token).toBe('bigint');
  expect(await client.count({ prefix: 'wl/' })).toBe(0n);
  await expect(withLock(client, 'wl', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(await client.count({ prefix: 'wl/' })).toBe(0n);
});

test('a lock whose lease is revoked underneath reports lost', async () => {
  const a = await lock(client, 'lost', { ttl: 3 });
  const other = new Client({ endpoints: cluster.endpoints });
  await other.revokeLease(a.lease.id);
  other.close();
  const lost = await withTimeout(a.lost, 5000, 'lost');
  expect(lost).toBeInstanceOf(LockLostError);
  expect(a.signal.aborted).toBe(true);
});
