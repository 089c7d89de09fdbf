/**
 * semaphore() against a real 3-member etcd: the limit holds under 20 racing processes, waiters
 * are admitted in order as permits come back, a killed holder's permit frees within its TTL,
 * the limit is shared, timeouts and aborts leave nothing queued, and the example runs.
 */
import {
  type Permit,
  PermitLostError,
  SemaphoreLimitError,
  SemaphoreTimeoutError,
  semaphore,
} from '../../recipes/index.js';
import { Client, op } from '../../src/index.js';
import { sleep, waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 3, name: 'sem' });

/** Tracks whether a pending acquire has resolved. */
function track(p: Promise<Permit>) {
  const t: { permit?: Permit; error?: unknown; p: Promise<Permit> } = { p };
  p.then(
    (permit) => {
      t.permit = permit;
    },
    (error) => {
      t.error = error;
    },
  );
  return t;
}

test('20 processes, limit 3: never more than 3 holders at once, and every one gets a permit', async () => {
  const procs = Array.from({ length: 20 }, (_, i) =>
    etcd.fixture('semaphore-holder.mjs', {
      SEM: 'race',
      LIMIT: '3',
      RUN: 'race-run',
      ID: String(i),
      HOLD_MS: '150',
    }),
  );
  // Start them together, so that all 20 contend at once.
  await waitFor(() => procs.every((p) => p.lines.includes('ready')), {
    timeoutMs: 20_000,
    what: 'all contenders ready',
  });
  await etcd.client.put('race-run/go', '1');
  const codes = await withTimeout(Promise.all(procs.map((p) => p.exited)), 40_000, 'contenders');
  for (const [i, c] of codes.entries())
    expect({ i, c, err: c === 0 ? '' : procs[i]!.stderr() }).toEqual({ i, c: 0, err: '' });
  const maxes = (await etcd.client.range({ prefix: 'race-run/max/' })).kvs.map((kv) => Number(kv.text()));
  expect(maxes).toHaveLength(20);
  expect(Math.max(...maxes)).toBeLessThanOrEqual(3);
  // The permits were used concurrently (a semaphore of 1 would also pass the bound above).
  expect(Math.max(...maxes)).toBeGreaterThanOrEqual(2);
  expect(await etcd.client.count({ prefix: 'race/' })).toBe(0n);
  expect(await etcd.client.getString('race')).toBe('3');
}, 60_000);

test('limit 2: holders in order, tryAcquire fails when full, waiters admitted in order', async () => {
  const sem = semaphore(etcd.client, 's1', { limit: 2, ttl: 10 });
  const a = await sem.acquire();
  const b = await sem.acquire();
  expect(a.key.toString()).toMatch(new RegExp(`^s1/${a.lease.id.toString(16)}-[0-9a-f]{12}$`));
  expect(b.createRevision).toBeGreaterThan(a.createRevision);
  expect(await sem.tryAcquire()).toBeUndefined();
  expect((await sem.holders()).map((kv) => kv.keyText())).toEqual([a.key.toString(), b.key.toString()]);
  // Three waiters, queued in this order.
  const c = track(sem.acquire());
  await waitFor(async () => (await etcd.client.count({ prefix: 's1/' })) === 3n, { what: 'c queued' });
  const d = track(sem.acquire());
  await waitFor(async () => (await etcd.client.count({ prefix: 's1/' })) === 4n, { what: 'd queued' });
  const e = track(sem.acquire());
  await waitFor(async () => (await etcd.client.count({ prefix: 's1/' })) === 5n, { what: 'e queued' });
  await sleep(200);
  expect([c.permit, d.permit, e.permit]).toEqual([undefined, undefined, undefined]);

  // The oldest holder leaves: the first waiter gets in, the others keep waiting.
  await a.release();
  expect(a.signal.aborted).toBe(true);
  await withTimeout(c.p, 5000, 'c admitted');
  await sleep(300);
  expect([d.permit, e.permit]).toEqual([undefined, undefined]);
  // A holder that is not the oldest leaves (b is still older than c): d gets in.
  await c.permit!.release();
  await withTimeout(d.p, 5000, 'd admitted');
  await sleep(300);
  expect(e.permit).toBeUndefined();
  await b.release();
  await withTimeout(e.p, 5000, 'e admitted');
  expect((await sem.holders()).map((kv) => kv.keyText())).toEqual([
    d.permit!.key.toString(),
    e.permit!.key.toString(),
  ]);
  await d.permit!.release();
  await e.permit!.release();
  expect(await etcd.client.count({ prefix: 's1/' })).toBe(0n);
});

test('a waiter behind others gets in as soon as enough permits come back, whichever they are', async () => {
  // limit 3: holders h0 h1 h2, waiters w0 (first in line) and w1 (behind it).
  const sem = semaphore(etcd.client, 's2', { limit: 3, ttl: 10 });
  const h = [await sem.acquire(), await sem.acquire(), await sem.acquire()];
  const w0 = track(sem.acquire());
  await waitFor(async () => (await etcd.client.count({ prefix: 's2/' })) === 4n, { what: 'w0 queued' });
  const w1 = track(sem.acquire());
  await waitFor(async () => (await etcd.client.count({ prefix: 's2/' })) === 5n, { what: 'w1 queued' });
  // Two permits come back at once (the two newest): both waiters get in.
  await Promise.all([h[2]!.release(), h[1]!.release()]);
  await withTimeout(Promise.all([w0.p, w1.p]), 5000, 'both waiters admitted');
  expect((await sem.holders()).length).toBe(3);
  await Promise.all([h[0]!.release(), w0.permit!.release(), w1.permit!.release()]);
});

test('the limit is stored and shared: a user with another limit is refused', async () => {
  const sem = semaphore(etcd.client, 's3', { limit: 2, ttl: 10 });
  expect(await sem.storedLimit()).toBeUndefined();
  const p = await sem.acquire();
  expect(await sem.storedLimit()).toBe(2);
  const other = semaphore(etcd.client, 's3', { limit: 5, ttl: 10 });
  await expect(other.acquire()).rejects.toBeInstanceOf(SemaphoreLimitError);
  await expect(other.tryAcquire()).rejects.toBeInstanceOf(SemaphoreLimitError);
  // The refused users left nothing queued.
  expect(await etcd.client.count({ prefix: 's3/' })).toBe(1n);
  await p.release();
  expect(() => semaphore(etcd.client, 's3', { limit: 0 })).toThrow(TypeError);
});

test('a holder killed with SIGKILL frees its permit within its TTL', async () => {
  const holders = [
    etcd.fixture('semaphore-holder.mjs', { SEM: 'crash', LIMIT: '2', MODE: 'hold', TTL: '2' }),
    etcd.fixture('semaphore-holder.mjs', { SEM: 'crash', LIMIT: '2', MODE: 'hold', TTL: '2' }),
  ];
  await waitFor(() => holders.every((h) => h.lines.length > 0), { timeoutMs: 15_000, what: 'holders' });
  const sem = semaphore(etcd.client, 'crash', { limit: 2, ttl: 10 });
  expect(await sem.tryAcquire()).toBeUndefined();
  const waiter = track(sem.acquire());
  await waitFor(async () => (await etcd.client.count({ prefix: 'crash/' })) === 3n, {
    what: 'waiter queued',
  });
  holders[1]!.child.kill('SIGKILL');
  const killedAt = Date.now();
  const got = await withTimeout(waiter.p, 10_000, 'waiter to get the permit');
  // TTL 2 s; etcd checks for expired leases every 500 ms.
  expect(Date.now() - killedAt).toBeLessThan(2000 + 1500);
  // The survivor still holds its permit: the limit still counts it.
  const keys = (await sem.holders()).map((kv) => kv.keyText());
  expect(keys).toEqual([JSON.parse(holders[0]!.lines[0]!).key, got.key.toString()]);
  await got.release();
}, 30_000);

test('waitTimeoutMs gives up with SemaphoreTimeoutError; abort likewise; nothing stays queued', async () => {
  const sem = semaphore(etcd.client, 's4', { limit: 1, ttl: 10 });
  const held = await sem.acquire();
  const leasesBefore = (await etcd.client.leases()).sort();
  await expect(sem.acquire({ waitTimeoutMs: 300 })).rejects.toBeInstanceOf(SemaphoreTimeoutError);
  const ac = new AbortController();
  const p = sem.acquire({ signal: ac.signal });
  await sleep(200);
  ac.abort();
  await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  expect((await etcd.client.range({ prefix: 's4/' })).kvs.map((kv) => kv.keyText())).toEqual([
    held.key.toString(),
  ]);
  // The leases created for the two waits were revoked. (A lease of an earlier test may expire
  // meanwhile: only new leases count.)
  const left = (await etcd.client.leases()).filter((id) => !leasesBefore.includes(id));
  expect(left).toEqual([]);
  await held.release();
});

test('withPermit releases afterwards, also when fn throws; await using releases', async () => {
  const sem = semaphore(etcd.client, 's5', { limit: 1, ttl: 10 });
  const v = await sem.withPermit(async ({ signal, permit }) => {
    expect(signal.aborted).toBe(false);
    expect(await etcd.client.count({ prefix: 's5/' })).toBe(1n);
    return permit.createRevision;
  });
  expect(typeof v).toBe('bigint');
  await expect(sem.withPermit(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(await etcd.client.count({ prefix: 's5/' })).toBe(0n);
  {
    await using p = await sem.acquire();
    expect(await sem.tryAcquire()).toBeUndefined();
    // guard() holds while the permit is held.
    expect((await etcd.client.txn().if(p.guard()).success(op.put('s5-out', 'x')).commit()).succeeded).toBe(
      true,
    );
  }
  const again = await sem.tryAcquire();
  expect(again).toBeDefined();
  await again!.release();
});

test('permits on a caller-supplied lease: several per lease, release deletes only its own key', async () => {
  const lease = await etcd.client.lease({ ttl: 10 });
  const sem = semaphore(etcd.client, 's7', { limit: 2, lease });
  const a = await sem.acquire();
  const b = await sem.acquire();
  expect(a.key.equals(b.key)).toBe(false);
  expect(await sem.tryAcquire()).toBeUndefined();
  await a.release();
  expect(a.signal.aborted).toBe(true);
  expect(b.signal.aborted).toBe(false);
  expect(lease.signal.aborted).toBe(false);
  expect((await sem.holders()).map((kv) => kv.keyText())).toEqual([b.key.toString()]);
  await lease.revoke();
  expect(b.signal.aborted).toBe(true);
  expect(await etcd.client.count({ prefix: 's7/' })).toBe(0n);
});

test('a permit whose lease is revoked underneath reports lost; a waiter whose lease ends fails', async () => {
  const sem = semaphore(etcd.client, 's6', { limit: 1, ttl: 5 });
  const p = await sem.acquire();
  const waiting = sem.acquire();
  await waitFor(async () => (await etcd.client.count({ prefix: 's6/' })) === 2n, { what: 'waiter queued' });
  const waiterKey = (
    await etcd.client.range({ prefix: 's6/' }, { sort: { target: 'create', order: 'descend' } })
  ).kvs[0]!;
  const other = new Client({ endpoints: etcd.cluster.endpoints });
  try {
    await other.revokeLease(waiterKey.lease);
    await expect(withTimeout(waiting, 5000, 'waiter fails')).rejects.toBeInstanceOf(PermitLostError);
    await other.revokeLease(p.lease.id);
  } finally {
    other.close();
  }
  expect(await withTimeout(p.lost, 5000, 'lost')).toBeInstanceOf(PermitLostError);
  expect(p.signal.aborted).toBe(true);
});

test('examples/semaphore runs and prints what it promises', async () => {
  expect((await etcd.example('semaphore')).lines).toEqual([
    'permits held: 2 of 2 (ok)',
    'tryAcquire while both are held: none free',
    '6 jobs done, at most 2 at once',
    'permits held now: 0',
  ]);
});
