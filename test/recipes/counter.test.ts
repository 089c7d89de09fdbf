/**
 * counter() against real etcd: no lost update under 10 concurrent clients, bigint values,
 * compareAndSet semantics, a missing key counting as 0, refusal of a non-integer value, and
 * the example.
 */
import { CounterValueError, counter } from '../../recipes/index.js';
import { withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'counter' });

test('10 concurrent clients x 20 increments = exactly 200, each value returned once', async () => {
  const cs = Array.from({ length: 10 }, () => etcd.newClient());
  const returned = await withTimeout(
    Promise.all(
      cs.map(async (c) => {
        const ctr = counter(c, 'hits');
        const mine: bigint[] = [];
        for (let i = 0; i < 20; i++) mine.push(await ctr.increment());
        return mine;
      }),
    ),
    // Every lost compare-and-swap is a write through raft: under a loaded CI machine the
    // contended run can take several times its idle ~4 s.
    50_000,
    'increments',
  );
  expect(await counter(etcd.client, 'hits').get()).toBe(200n);
  // Each increment saw its own new value: 1..200, none twice.
  const all = returned.flat().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  expect(all).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i + 1)));
  // And each client's values increase.
  for (const mine of returned)
    for (let i = 1; i < mine.length; i++) expect(mine[i]! > mine[i - 1]!).toBe(true);
}, 60_000);

test('get/add/decrement/set with bigints; a missing key is 0', async () => {
  const c = counter(etcd.client, 'big');
  expect(await c.get()).toBe(0n);
  expect(await c.decrement()).toBe(-1n);
  expect(await c.add(2n ** 70n)).toBe(2n ** 70n - 1n);
  expect(await etcd.client.getString('big')).toBe(String(2n ** 70n - 1n));
  expect(await c.add(-5)).toBe(2n ** 70n - 6n);
  await c.set(42);
  expect(await c.get()).toBe(42n);
  await expect(c.add(1.5)).rejects.toThrow(TypeError);
});

test('compareAndSet sets only on the expected value; 0 matches a missing key', async () => {
  const c = counter(etcd.client, 'cas');
  expect(await c.compareAndSet(1, 5)).toBe(false);
  expect(await etcd.client.get('cas')).toBeUndefined();
  expect(await c.compareAndSet(0, 5)).toBe(true);
  expect(await c.compareAndSet(0, 6)).toBe(false);
  expect(await c.compareAndSet(5n, 7n)).toBe(true);
  expect(await c.get()).toBe(7n);
  // Concurrent CAS from the same value: exactly one wins.
  const cs = Array.from({ length: 5 }, () => etcd.newClient());
  const wins = await Promise.all(cs.map((x, i) => counter(x, 'cas').compareAndSet(7, 100 + i)));
  expect(wins.filter(Boolean)).toHaveLength(1);
  expect(await c.get()).toBe(BigInt(100 + wins.indexOf(true)));
});

test('a value that is not an integer is refused, not overwritten', async () => {
  await etcd.client.put('garbage', 'twelve');
  const c = counter(etcd.client, 'garbage');
  await expect(c.get()).rejects.toBeInstanceOf(CounterValueError);
  await expect(c.increment()).rejects.toBeInstanceOf(CounterValueError);
  expect(await etcd.client.getString('garbage')).toBe('twelve');
});

test('examples/counter runs and prints what it promises', async () => {
  expect((await etcd.example('counter')).lines).toEqual([
    'page views after 4 x 25 concurrent increments: 100',
    'reset from 100 to 0: true',
    'reset from 100 to 0 again: false',
    'decrement: -1',
    `add 2^64: ${2n ** 64n - 1n}`,
  ]);
});
