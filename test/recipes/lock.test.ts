/**
 * lock(), tryLock(), withLock() against real etcd: exclusion across processes, fencing tokens,
 * crash of a holder, interop with `etcdctl lock`, timeouts and aborts.
 */
import { LockLostError, LockTimeoutError, lock, tryLock, withLock } from '../../recipes/index.js';
import { Client, op } from '../../src/index.js';
import { sleep, waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { spawnTracked } from '../harness/fixtures.js';

const etcd = etcdSuite({ members: 1, name: 'lock' });

test('one holder at a time; tryLock fails while held; tokens increase', async () => {
  const a = await lock(etcd.client, 'l1', { ttl: 10 });
  expect(a.key.toString()).toBe(`l1/${a.lease.id.toString(16)}`);
  expect(await tryLock(etcd.client, 'l1', { ttl: 10 })).toBeUndefined();
  // tryLock left nothing queued behind.
  expect((await etcd.client.range({ prefix: 'l1/' })).kvs.map((kv) => kv.keyText())).toEqual([
    a.key.toString(),
  ]);
  const bPromise = lock(etcd.client, 'l1', { ttl: 10 });
  await sleep(200);
  await a.release();
  expect(a.signal.aborted).toBe(true);
  const b = await withTimeout(bPromise, 5000, 'second lock');
  expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
  await b.release();
  expect(await etcd.client.count({ prefix: 'l1/' })).toBe(0n);
});

test('12 processes increment a counter under lock: exact count, tokens strictly increasing', async () => {
  const n = 5;
  const procs = Array.from({ length: 12 }, () =>
    etcd.fixture('lock-counter.mjs', { LOCK: 'ctr', N: String(n) }),
  );
  const codes = await withTimeout(Promise.all(procs.map((p) => p.exited)), 60_000, 'contenders');
  for (const [i, c] of codes.entries())
    expect({ i, c, err: c === 0 ? '' : procs[i]!.stderr() }).toEqual({ i, c: 0, err: '' });
  expect(await etcd.client.getString('ctr-counter')).toBe(String(12 * n));
  const log = await etcd.client.range({ prefix: 'ctr-log/' }, { sort: { target: 'key', order: 'ascend' } });
  expect(log.kvs).toHaveLength(12 * n);
  const tokens = log.kvs.map((kv) => BigInt(kv.text()));
  for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
}, 90_000);

test('a holder killed with SIGKILL loses the lock within its TTL; the waiter gets it', async () => {
  const h = etcd.fixture('lock-holder.mjs', { LOCK: 'crash', TTL: '2' });
  await waitFor(() => h.lines.length > 0, { timeoutMs: 10_000, what: 'holder to lock' });
  const first = JSON.parse(h.lines[0]!);
  const waiter = lock(etcd.client, 'crash', { ttl: 10 });
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
  const ep = `--endpoints=${etcd.cluster.endpoints.join(',')}`;
  spawnTracked('etcdctl', [ep, 'lock', 'mixed', 'sleep', '2'], { ETCDCTL_API: '3' });
  await waitFor(async () => (await etcd.client.count({ prefix: 'mixed/' })) > 0n, {
    timeoutMs: 5000,
    what: 'etcdctl lock',
  });
  const ctlKey = (await etcd.client.range({ prefix: 'mixed/' })).kvs[0]!;
  expect(ctlKey.keyText()).toBe(`mixed/${ctlKey.lease.toString(16)}`);
  expect(await tryLock(etcd.client, 'mixed', { ttl: 10 })).toBeUndefined();
  const ours = await withTimeout(lock(etcd.client, 'mixed', { ttl: 10 }), 10_000, 'lock after etcdctl');
  expect(ours.fencingToken).toBeGreaterThan(ctlKey.createRevision);
  // Now etcdctl must wait for us.
  const ctl2 = spawnTracked('etcdctl', [ep, 'lock', 'mixed', 'echo', 'got-it'], { ETCDCTL_API: '3' });
  await sleep(1000);
  expect(ctl2.lines).not.toContain('got-it');
  await ours.release();
  await waitFor(() => ctl2.lines.includes('got-it'), { timeoutMs: 5000, what: 'etcdctl to get the lock' });
}, 30_000);

test('guard(): a write fenced by the token fails once the lock has changed hands', async () => {
  const a = await lock(etcd.client, 'fence', { ttl: 10 });
  const ok = await etcd.client.txn().if(a.guard()).success(op.put('fenced', 'a')).commit();
  expect(ok.succeeded).toBe(true);
  await a.release();
  const b = await lock(etcd.client, 'fence', { ttl: 10 });
  const stale = await etcd.client.txn().if(a.guard()).success(op.put('fenced', 'stale')).commit();
  expect(stale.succeeded).toBe(false);
  expect(await etcd.client.getString('fenced')).toBe('a');
  await b.release();
});

test('waitTimeoutMs gives up with LockTimeoutError and leaves no queued key; abort likewise', async () => {
  const a = await lock(etcd.client, 'wait', { ttl: 10 });
  const err = await lock(etcd.client, 'wait', { ttl: 10, waitTimeoutMs: 300 }).catch((e) => e);
  expect(err).toBeInstanceOf(LockTimeoutError);
  const ac = new AbortController();
  const p = lock(etcd.client, 'wait', { ttl: 10, signal: ac.signal });
  await sleep(200);
  ac.abort();
  await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  expect((await etcd.client.range({ prefix: 'wait/' })).kvs.map((kv) => kv.keyText())).toEqual([
    a.key.toString(),
  ]);
  await a.release();
});

test('withLock passes the token and releases afterwards, even when fn throws', async () => {
  const token = await withLock(etcd.client, 'wl', async ({ fencingToken, signal }) => {
    expect(signal.aborted).toBe(false);
    expect(await etcd.client.count({ prefix: 'wl/' })).toBe(1n);
    return fencingToken;
  });
  expect(typeof token).toBe('bigint');
  expect(await etcd.client.count({ prefix: 'wl/' })).toBe(0n);
  await expect(withLock(etcd.client, 'wl', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(await etcd.client.count({ prefix: 'wl/' })).toBe(0n);
});

test('a lock whose lease is revoked underneath reports lost', async () => {
  const a = await lock(etcd.client, 'lost', { ttl: 3 });
  const other = new Client({ endpoints: etcd.cluster.endpoints });
  await other.revokeLease(a.lease.id);
  other.close();
  const lost = await withTimeout(a.lost, 5000, 'lost');
  expect(lost).toBeInstanceOf(LockLostError);
  expect(a.signal.aborted).toBe(true);
});
