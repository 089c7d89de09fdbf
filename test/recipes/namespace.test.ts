/**
 * Every recipe runs on a Namespace as on a Client: the same recipe name in namespaces `a/` and
 * `b/` are two independent instances (a lock in each is held at once), and every key a recipe
 * writes lives under its namespace's prefix (seen through the root client). A recipe's lease
 * takes its TTL from the client's `leases.ttl`, through the namespace. The registry and flags take
 * any KV (a Client or a Namespace) and are checked here too.
 */
import {
  barrier,
  counter,
  discover,
  doubleBarrier,
  elect,
  flags,
  flagsAdmin,
  lock,
  queue,
  register,
  rwlock,
  semaphore,
  tryLock,
} from '../../recipes/index.js';
import type { Namespace } from '../../src/index.js';
import { withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'namespace' });

/** Two namespaces of one client, under a prefix of the test's own. */
function pair(test: string): { a: Namespace; b: Namespace; root: string } {
  const root = `ns-${test}/`;
  const base = etcd.client.namespace(root);
  return { a: base.namespace('a/'), b: base.namespace('b/'), root };
}

/** Every key under `root`, as text, relative to it. */
async function keysUnder(root: string): Promise<string[]> {
  const r = await etcd.client.range({ prefix: root }, { sort: { target: 'key', order: 'ascend' } });
  return r.kvs.map((kv) => kv.keyText().slice(root.length));
}

/** Once the holds have ended, nothing is left under `root`. */
async function endAll(root: string, ...ends: Promise<unknown>[]): Promise<void> {
  await Promise.all(ends);
  expect(await keysUnder(root)).toEqual([]);
}

test('lock: the same name in a/ and b/ is held twice at once; both keys under their prefix', async () => {
  const { a, b, root } = pair('lock');
  const inA = await lock(a, 'job', { ttl: 10 });
  const inB = await withTimeout(lock(b, 'job', { ttl: 10 }), 5_000, 'the lock in b/');
  // Within one namespace it still excludes.
  expect(await tryLock(a, 'job', { ttl: 10 })).toBeUndefined();
  expect(inA.key.toString()).toBe(`job/${inA.lease.id.toString(16)}`);
  expect(await keysUnder(root)).toEqual(
    [`a/job/${inA.lease.id.toString(16)}`, `b/job/${inB.lease.id.toString(16)}`].sort(),
  );
  // The fencing guard compares the namespaced key.
  const guarded = await a.txn().if(inA.guard()).success().commit();
  expect(guarded.succeeded).toBe(true);
  await endAll(root, inA.release(), inB.release());
});

test("a recipe's lease takes the client's leases.ttl through a namespace", async () => {
  const client = etcd.newClient(undefined, { leases: { ttl: 7 } });
  const held = await lock(client.namespace('ns-ttl/'), 'job');
  try {
    expect((await client.leaseTimeToLive(held.lease.id)).grantedTtl).toBe(7);
  } finally {
    await held.release();
  }
});

test('election: a leader in a/ and one in b/ under the same name', async () => {
  const { a, b, root } = pair('election');
  const ea = elect(a, 'leader', { value: 'in-a', ttl: 10 });
  const eb = elect(b, 'leader', { value: 'in-b', ttl: 10 });
  await withTimeout(Promise.all([ea.campaign(), eb.campaign()]), 5_000, 'both campaigns');
  expect((await ea.leader())?.value.toString()).toBe('in-a');
  expect((await eb.leader())?.value.toString()).toBe('in-b');
  expect((await keysUnder(root)).map((k) => k.replace(/[0-9a-f]+$/, '<id>'))).toEqual([
    'a/leader/<id>',
    'b/leader/<id>',
  ]);
  await endAll(root, ea.resign(), eb.resign());
});

test('barrier and double barrier: held in a/, free in b/', async () => {
  const { a, b, root } = pair('barrier');
  const inA = barrier(a, 'gate');
  expect(await inA.hold()).toBe(true);
  expect(await barrier(a, 'gate').isHeld()).toBe(true);
  expect(await barrier(b, 'gate').isHeld()).toBe(false);
  await withTimeout(barrier(b, 'gate').wait(), 5_000, 'the free barrier in b/');
  expect(await keysUnder(root)).toEqual(['a/gate']);
  await inA.release();

  // A double barrier for one enters alone; its count in b/ is its own.
  const d = doubleBarrier(a, 'phase', 1, { ttl: 10 });
  await withTimeout(d.enter(), 5_000, 'entering a 1-party barrier');
  expect((await keysUnder(root)).every((k) => k.startsWith('a/phase/'))).toBe(true);
  await withTimeout(d.leave(), 5_000, 'leaving it');
  expect(await keysUnder(root)).toEqual([]);
});

test('counter: one name, two counters', async () => {
  const { a, b, root } = pair('counter');
  await counter(a, 'hits').add(5);
  await counter(b, 'hits').increment();
  expect(await counter(a, 'hits').get()).toBe(5n);
  expect(await counter(b, 'hits').get()).toBe(1n);
  expect(await keysUnder(root)).toEqual(['a/hits', 'b/hits']);
});

test('queue: items enqueued in a/ are not dequeued from b/', async () => {
  const { a, b, root } = pair('queue');
  const { key } = await queue(a, 'jobs').enqueue('one');
  expect(key.toString().startsWith('jobs/')).toBe(true);
  expect(await queue(b, 'jobs').tryDequeue()).toBeUndefined();
  expect((await keysUnder(root)).map((k) => k.slice(0, 'a/jobs/'.length))).toEqual(['a/jobs/']);
  expect((await queue(a, 'jobs').tryDequeue())?.text()).toBe('one');
  expect(await keysUnder(root)).toEqual([]);
});

test('rwlock: a write lock in a/ and one in b/ at once', async () => {
  const { a, b, root } = pair('rwlock');
  const wa = await rwlock(a, 'doc', { ttl: 10 }).writeLock();
  const wb = await withTimeout(rwlock(b, 'doc', { ttl: 10 }).writeLock(), 5_000, 'the write lock in b/');
  expect(await rwlock(a, 'doc', { ttl: 10 }).tryReadLock()).toBeUndefined();
  expect((await keysUnder(root)).map((k) => k.split('/').slice(0, 3).join('/'))).toEqual([
    'a/doc/write',
    'b/doc/write',
  ]);
  await endAll(root, wa.release(), wb.release());
});

test('semaphore: a limit of 1 in a/ and in b/ gives two permits', async () => {
  const { a, b, root } = pair('semaphore');
  const pa = await semaphore(a, 'slots', { limit: 1, ttl: 10 }).acquire();
  const pb = await withTimeout(
    semaphore(b, 'slots', { limit: 1, ttl: 10 }).acquire(),
    5_000,
    'the permit in b/',
  );
  expect(await semaphore(a, 'slots', { limit: 1, ttl: 10 }).tryAcquire()).toBeUndefined();
  expect((await semaphore(b, 'slots', { limit: 1 }).holders()).map((kv) => kv.keyText())).toEqual([
    pb.key.toString(),
  ]);
  // Each holds its limit key and its permit key.
  expect((await keysUnder(root)).map((k) => k.replace(/slots\/.*/, 'slots/<permit>'))).toEqual([
    'a/slots',
    'a/slots/<permit>',
    'b/slots',
    'b/slots/<permit>',
  ]);
  await pa.release();
  await pb.release();
  expect(await keysUnder(root)).toEqual(['a/slots', 'b/slots']);
});

test('registry: an instance registered in a/ is discovered in a/, not in b/', async () => {
  const { a, b, root } = pair('registry');
  const reg = await register(a, 'api', { id: 'i1', address: '10.0.0.1:80' }, { ttl: 10 });
  const inA = await discover(a, 'api');
  const inB = await discover(b, 'api');
  try {
    expect(inA.instances().map((i) => i.address)).toEqual(['10.0.0.1:80']);
    expect(inB.size).toBe(0);
    expect((await keysUnder(root)).every((k) => k.startsWith('a/'))).toBe(true);
  } finally {
    inA.close();
    inB.close();
  }
  await endAll(root, reg.close());
});

test('flags: a flag set in a/ is read in a/, not in b/', async () => {
  const { a, b, root } = pair('flags');
  await flagsAdmin(a).set('beta', { type: 'boolean', value: true });
  const inA = flags(a);
  const inB = flags(b);
  try {
    await Promise.all([inA.ready(), inB.ready()]);
    expect(inA.getBoolean('beta', false)).toBe(true);
    expect(inB.getBoolean('beta', false)).toBe(false);
    expect(await keysUnder(root)).toEqual(['a/flags/beta']);
  } finally {
    inA.close();
    inB.close();
  }
});
