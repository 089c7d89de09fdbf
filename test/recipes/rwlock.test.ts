/**
 * rwlock() against real etcd: readers share, a writer excludes everyone (measured across
 * processes), a waiting writer blocks later readers, a killed writer frees the lock within its
 * TTL, timeouts and aborts leave nothing queued, and the example runs.
 */
import { type HeldRWLock, RWLockLostError, RWLockTimeoutError, rwlock } from '../../recipes/index.js';
import { op } from '../../src/index.js';
import { sleep, waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'rwlock' });

function track(p: Promise<HeldRWLock>) {
  const t: { held?: HeldRWLock; p: Promise<HeldRWLock> } = { p };
  p.then(
    (h) => {
      t.held = h;
    },
    () => {},
  );
  return t;
}

test('5 readers (5 clients) hold the lock at once; no writer while they do', async () => {
  const readers = await withTimeout(
    Promise.all(Array.from({ length: 5 }, () => rwlock(etcd.newClient(), 'rw1', { ttl: 10 }).readLock())),
    5000,
    '5 readers',
  );
  expect(readers.every((r) => r.mode === 'read' && !r.signal.aborted)).toBe(true);
  expect(await etcd.client.count({ prefix: 'rw1/read/' })).toBe(5n);
  const rw = rwlock(etcd.client, 'rw1', { ttl: 10 });
  expect(await rw.tryWriteLock()).toBeUndefined();
  // Another reader still gets in.
  const sixth = await rw.tryReadLock();
  expect(sixth?.mode).toBe('read');
  await sixth!.release();
  await Promise.all(readers.map((r) => r.release()));
  const w = await rw.tryWriteLock();
  expect(w?.key.toString()).toMatch(/^rw1\/write\/[0-9a-f]+-[0-9a-f]{12}$/);
  // And while a writer holds it, nobody else gets in.
  expect(await rw.tryReadLock()).toBeUndefined();
  expect(await rw.tryWriteLock()).toBeUndefined();
  await w!.release();
  expect(await etcd.client.count({ prefix: 'rw1/' })).toBe(0n);
});

test('processes: writers always alone, readers never with a writer, readers together', async () => {
  const procs = [
    ...['r0', 'r1', 'r2', 'r3'].map((id) =>
      etcd.fixture('rwlock-worker.mjs', { LOCK: 'mix', RUN: 'mix-run', ID: id, MODE: 'read', N: '4' }),
    ),
    ...['w0', 'w1'].map((id) =>
      etcd.fixture('rwlock-worker.mjs', { LOCK: 'mix', RUN: 'mix-run', ID: id, MODE: 'write', N: '4' }),
    ),
  ];
  await waitFor(() => procs.every((p) => p.lines.includes('ready')), { timeoutMs: 15_000, what: 'workers' });
  await etcd.client.put('mix-run/go', '1');
  const codes = await withTimeout(Promise.all(procs.map((p) => p.exited)), 25_000, 'workers');
  for (const [i, c] of codes.entries())
    expect({ i, c, err: c === 0 ? '' : procs[i]!.stderr() }).toEqual({ i, c: 0, err: '' });
  const seen = procs.map(
    (p) =>
      JSON.parse(p.lines.at(-1)!) as {
        mode: string;
        readers: number;
        writers: number;
        total: number;
        tokens: string[];
      },
  );
  for (const s of seen.filter((x) => x.mode === 'write')) expect(s.total).toBe(1);
  for (const s of seen.filter((x) => x.mode === 'read')) expect(s.writers).toBe(0);
  expect(Math.max(...seen.filter((x) => x.mode === 'read').map((s) => s.readers))).toBeGreaterThanOrEqual(2);
  // Writer tokens are all distinct (each write hold had its own key).
  const writerTokens = seen.filter((x) => x.mode === 'write').flatMap((s) => s.tokens);
  expect(new Set(writerTokens).size).toBe(8);
  expect(await etcd.client.count({ prefix: 'mix/' })).toBe(0n);
}, 45_000);

test('a waiting writer blocks later readers; it gets in when earlier readers leave, then they do', async () => {
  const rw = rwlock(etcd.client, 'fair', { ttl: 10 });
  const r1 = await rw.readLock();
  const w = track(rw.writeLock());
  await waitFor(async () => (await etcd.client.count({ prefix: 'fair/write/' })) === 1n, {
    what: 'writer queued',
  });
  // A reader arriving now must wait behind the writer.
  expect(await rw.tryReadLock()).toBeUndefined();
  const r2 = track(rw.readLock());
  await waitFor(async () => (await etcd.client.count({ prefix: 'fair/' })) === 3n, { what: 'r2 queued' });
  const w2 = track(rw.writeLock());
  await waitFor(async () => (await etcd.client.count({ prefix: 'fair/' })) === 4n, { what: 'w2 queued' });
  await sleep(300);
  expect([w.held, r2.held, w2.held]).toEqual([undefined, undefined, undefined]);
  await r1.release();
  const wHeld = await withTimeout(w.p, 5000, 'writer in');
  await sleep(300);
  expect([r2.held, w2.held]).toEqual([undefined, undefined]);
  await wHeld.release();
  const r2Held = await withTimeout(r2.p, 5000, 'reader after the writer');
  expect(r2Held.fencingToken).toBeGreaterThan(wHeld.fencingToken);
  await sleep(300);
  // The second writer waits for that reader.
  expect(w2.held).toBeUndefined();
  await r2Held.release();
  const w2Held = await withTimeout(w2.p, 5000, 'second writer');
  expect(w2Held.fencingToken).toBeGreaterThan(wHeld.fencingToken);
  // Fenced writes: only the current holder's guard holds.
  expect(
    (await etcd.client.txn().if(wHeld.guard()).success(op.put('fair-out', 'stale')).commit()).succeeded,
  ).toBe(false);
  expect(
    (await etcd.client.txn().if(w2Held.guard()).success(op.put('fair-out', 'ok')).commit()).succeeded,
  ).toBe(true);
  await w2Held.release();
});

test('a writer killed with SIGKILL frees the lock within its TTL', async () => {
  const h = etcd.fixture('rwlock-worker.mjs', { LOCK: 'crash', MODE: 'hold-write', TTL: '2' });
  await waitFor(() => h.lines.length > 0, { timeoutMs: 10_000, what: 'writer to lock' });
  const first = JSON.parse(h.lines[0]!);
  const rw = rwlock(etcd.client, 'crash', { ttl: 10 });
  const reader = rw.readLock();
  await waitFor(async () => (await etcd.client.count({ prefix: 'crash/' })) === 2n, {
    what: 'reader queued',
  });
  h.child.kill('SIGKILL');
  const killedAt = Date.now();
  const got = await withTimeout(reader, 10_000, 'reader after the crash');
  expect(Date.now() - killedAt).toBeLessThan(2000 + 1500);
  expect(got.fencingToken).toBeGreaterThan(BigInt(first.token));
  await got.release();
}, 30_000);

test('waitTimeoutMs gives up with RWLockTimeoutError; abort likewise; nothing stays queued', async () => {
  const rw = rwlock(etcd.client, 'wait', { ttl: 10 });
  const w = await rw.writeLock();
  await expect(rw.readLock({ waitTimeoutMs: 300 })).rejects.toBeInstanceOf(RWLockTimeoutError);
  const ac = new AbortController();
  const p = rw.writeLock({ signal: ac.signal });
  await sleep(200);
  ac.abort();
  await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  expect((await etcd.client.range({ prefix: 'wait/' })).kvs.map((kv) => kv.keyText())).toEqual([
    w.key.toString(),
  ]);
  await w.release();
});

test('withRead/withWrite release afterwards, also when fn throws; await using releases', async () => {
  const rw = rwlock(etcd.client, 'with', { ttl: 10 });
  const token = await rw.withWrite(async ({ fencingToken, lock }) => {
    expect(lock.mode).toBe('write');
    expect(await etcd.client.count({ prefix: 'with/write/' })).toBe(1n);
    return fencingToken;
  });
  expect(typeof token).toBe('bigint');
  await expect(rw.withRead(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(await etcd.client.count({ prefix: 'with/' })).toBe(0n);
  {
    await using r = await rw.readLock();
    expect(r.mode).toBe('read');
    expect(await rw.tryWriteLock()).toBeUndefined();
  }
  expect(await etcd.client.count({ prefix: 'with/' })).toBe(0n);
});

test('a hold whose lease is revoked underneath reports lost', async () => {
  const rw = rwlock(etcd.client, 'lost', { ttl: 3 });
  const r = await rw.readLock();
  await etcd.newClient().revokeLease(r.lease.id);
  expect(await withTimeout(r.lost, 5000, 'lost')).toBeInstanceOf(RWLockLostError);
  expect(r.signal.aborted).toBe(true);
});

test('examples/rwlock runs and prints what it promises', async () => {
  expect((await etcd.example('rwlock')).lines).toEqual([
    '3 readers hold the lock together',
    'a reader arriving while the writer waits: must wait',
    'readers: leaving',
    'writer: in, after the readers left',
    'late reader: in after the writer (token higher)',
  ]);
});
