/**
 * lock(), tryLock(), withLock() against real etcd: exclusion across processes, fencing tokens,
 * crash of a holder, interop with `etcdctl lock`, timeouts and aborts, `await using`, a lost lock
 * seen by withLock's signal, and a FIFO queue where each waiter watches only its predecessor.
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

test('`await using` releases a held lock at the end of the block', async () => {
  let signal: AbortSignal;
  {
    await using a = await lock(etcd.client, 'using', { ttl: 10 });
    signal = a.signal;
    expect(await etcd.client.count({ prefix: 'using/' })).toBe(1n);
    expect(await tryLock(etcd.client, 'using', { ttl: 10 })).toBeUndefined();
  }
  expect(signal.aborted).toBe(true);
  expect(await etcd.client.count({ prefix: 'using/' })).toBe(0n);
  const b = await tryLock(etcd.client, 'using', { ttl: 10 });
  expect(b).toBeDefined();
  await b!.release();
});

test("withLock's signal aborts with LockLostError when the lock's lease is revoked underneath", async () => {
  const other = etcd.newClient();
  // TTL 3: the keepalive (every TTL/3) finds the lease gone about a second later.
  const reason = await withLock(
    etcd.client,
    'wl-lost',
    async ({ signal, lock: held }) => {
      expect(signal.aborted).toBe(false);
      await other.revokeLease(held.lease.id);
      await withTimeout(
        new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })),
        10_000,
        "withLock's signal to abort",
      );
      // The same error as `lost` resolves with.
      expect(signal.reason).toBe(await withTimeout(held.lost, 10_000, 'lost'));
      return signal.reason as unknown;
    },
    { ttl: 3 },
  );
  // fn's result comes back: releasing a lock already lost has nothing left to remove.
  expect(reason).toBeInstanceOf(LockLostError);
  expect(await etcd.client.count({ prefix: 'wl-lost/' })).toBe(0n);
});

/** Lock keys under `name/`, oldest first. */
async function queue(name: string): Promise<string[]> {
  const r = await etcd.client.range({ prefix: `${name}/` }, { sort: { target: 'create', order: 'ascend' } });
  return r.kvs.map((kv) => kv.keyText());
}

/** A waiter on its own client, recording the keys it watches (the SDK's watch, called through). */
function waiter(name: string, order: string[]) {
  const c = etcd.newClient();
  const watch = jest.spyOn(c, 'watch');
  const held = lock(c, name, { ttl: 30 }).then((h) => {
    order.push(h.key.toString());
    return h;
  });
  held.catch(() => {});
  const watched = () => watch.mock.calls.map(([k]) => Buffer.from(k as Buffer).toString());
  return { held, watched };
}

/** Starts waiters one by one, each once the previous one's key is queued. */
async function enqueueWaiters(name: string, n: number, order: string[]) {
  const ws: ReturnType<typeof waiter>[] = [];
  for (let i = 0; i < n; i++) {
    const before = (await queue(name)).length;
    ws.push(waiter(name, order));
    await waitFor(async () => (await queue(name)).length === before + 1, {
      timeoutMs: 10_000,
      what: `waiter ${i} to queue`,
    });
  }
  return ws;
}

test('waiters acquire in create-revision order, each watching only its predecessor', async () => {
  const a = await lock(etcd.client, 'fifo', { ttl: 30 });
  const order: string[] = [];
  const ws = await enqueueWaiters('fifo', 4, order);
  const keys = await queue('fifo');
  expect(keys[0]).toBe(a.key.toString());
  // Each waiter has started watching its direct predecessor, and nothing else.
  await waitFor(() => ws.every((w) => w.watched().length === 1), { timeoutMs: 10_000, what: 'watches' });
  expect(ws.map((w) => w.watched())).toEqual(keys.slice(0, 4).map((k) => [k]));

  let prev = a;
  await prev.release();
  for (const [i, w] of ws.entries()) {
    const h = await withTimeout(w.held, 10_000, `waiter ${i} to acquire`);
    expect(h.key.toString()).toBe(keys[i + 1]);
    expect(h.fencingToken).toBeGreaterThan(prev.fencingToken);
    // The ones behind are still waiting while it holds.
    expect(order).toHaveLength(i + 1);
    prev = h;
    await h.release();
  }
  expect(order).toEqual(keys.slice(1));
  // A release woke only the next in line: nobody re-watched anything on the way.
  expect(ws.map((w) => w.watched())).toEqual(keys.slice(0, 4).map((k) => [k]));
  expect(await etcd.client.count({ prefix: 'fifo/' })).toBe(0n);
}, 60_000);

test('a key leaving the middle of the queue wakes only the waiter right behind it', async () => {
  const a = await lock(etcd.client, 'skip', { ttl: 30 });
  const order: string[] = [];
  const [b, c, d] = await enqueueWaiters('skip', 3, order);
  const [ka, kb, kc, kd] = await queue('skip');
  await waitFor(() => [b!, c!, d!].every((w) => w.watched().length === 1), {
    timeoutMs: 10_000,
    what: 'watches',
  });
  // b's key goes (as when its lease expires): c moves on to watch a; d, behind c, is not woken.
  await etcd.client.delete(kb!);
  await waitFor(() => c!.watched().length === 2, { timeoutMs: 10_000, what: 'c to watch a' });
  expect(c!.watched()).toEqual([kb, ka]);
  await sleep(500);
  expect(d!.watched()).toEqual([kc]);
  expect(order).toEqual([]);

  await a.release();
  // b lost its key while waiting: it holds nothing; c is next.
  await expect(withTimeout(b!.held, 10_000, 'b to give up')).rejects.toBeInstanceOf(LockLostError);
  const hc = await withTimeout(c!.held, 10_000, 'c to acquire');
  expect(order).toEqual([kc]);
  await hc.release();
  const hd = await withTimeout(d!.held, 10_000, 'd to acquire');
  expect(order).toEqual([kc, kd]);
  expect(d!.watched()).toEqual([kc]);
  await hd.release();
  expect(await etcd.client.count({ prefix: 'skip/' })).toBe(0n);
}, 60_000);

test('serverless: a lock with keepAlive false and a short TTL frees itself, and the process exits by itself', async () => {
  const p = etcd.fixture('lock-serverless.mjs', { LOCK: 'fn', TTL: '6' });
  // Nothing runs in the background: the holder returns still holding the lock, and Node exits.
  const code = await withTimeout(p.exited, 15_000, 'the holder process to exit by itself');
  expect({ code, stderr: p.stderr() }).toEqual({ code: 0, stderr: '' });
  const held = JSON.parse(p.lines[0]!) as {
    key: string;
    token: string;
    lease: string;
    ttl: number;
    holding: unknown;
  };
  expect(held.holding).toEqual({ watches: 0, leases: 0 });
  expect(held.ttl).toBe(6);
  expect(held.key).toBe(`fn/${BigInt(held.lease).toString(16)}`);
  // The lease is not kept alive: it runs out and takes the key with it.
  const next = await withTimeout(lock(etcd.client, 'fn', { ttl: 10 }), 30_000, 'the lock to free itself');
  expect(next.fencingToken).toBeGreaterThan(BigInt(held.token));
  expect((await etcd.client.leaseTimeToLive(BigInt(held.lease))).ttl).toBe(-1);
  await next.release();
}, 60_000);
