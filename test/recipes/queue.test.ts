/**
 * queue() against real etcd: FIFO for one consumer, exactly-once delivery to 5 concurrent
 * consumers (each in enqueue order), blocking dequeue with timeouts and aborts, interop with
 * the layout of etcd's Go recipe, and the example.
 */
import { QueueTimeoutError, queue } from '../../recipes/index.js';
import { sleep, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'queue' });

test('one consumer gets items in enqueue order; peek and size', async () => {
  const q = queue(etcd.client, 'fifo');
  expect(await q.size()).toBe(0);
  expect(await q.peek()).toBeUndefined();
  const keys = [];
  for (let i = 0; i < 20; i++) keys.push((await q.enqueue(`item-${i}`)).key.toString());
  expect(new Set(keys).size).toBe(20);
  for (const k of keys) expect(k).toMatch(/^fifo\/\d+$/);
  expect(await q.size()).toBe(20);
  expect((await q.peek())?.text()).toBe('item-0');
  const got = [];
  for (let i = 0; i < 20; i++) got.push((await q.dequeue()).text());
  expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `item-${i}`));
  expect(await q.size()).toBe(0);
  expect(await q.tryDequeue()).toBeUndefined();
});

test('200 items, 5 concurrent consumers: each item dequeued exactly once, in order per consumer', async () => {
  const consumers = Array.from({ length: 5 }, () => etcd.newClient());
  const producer = queue(etcd.client, 'work');
  const stop = new AbortController();
  let total = 0;
  const taken = consumers.map(() => [] as number[]);
  // Consumers start on an empty queue, so they also wait for items, not only race for them.
  const running = consumers.map(async (c, i) => {
    const q = queue(c, 'work');
    try {
      for (;;) {
        const item = await q.dequeue({ signal: stop.signal });
        taken[i]!.push(Number(item.text()));
        if (++total === 200) stop.abort();
        // Each item takes a moment to process, as real work does. A consumer that loops with no
        // work at all keeps the lead on a server answering strictly in arrival order (its next
        // request always comes first), and the others would only ever lose the race.
        await sleep(2);
      }
    } catch (e) {
      if ((e as Error).name !== 'AbortError') throw e;
    }
  });
  await sleep(200);
  // Enqueue in bursts (concurrent enqueues within a burst, so ordering comes from etcd).
  const order: number[] = [];
  for (let b = 0; b < 20; b++) {
    const burst = await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        producer.enqueue(String(b * 10 + j)).then((r) => ({ r, v: b * 10 + j })),
      ),
    );
    burst.sort((x, y) => (x.r.revision < y.r.revision ? -1 : 1));
    order.push(...burst.map((x) => x.v));
  }
  await withTimeout(Promise.all(running), 20_000, 'consumers');
  const all = taken.flat();
  expect(all).toHaveLength(200);
  expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  // Each consumer got its items in enqueue order (the order of their create revisions).
  const rank = new Map(order.map((v, i) => [v, i]));
  for (const mine of taken) {
    const ranks = mine.map((v) => rank.get(v)!);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  }
  // The work was shared.
  expect(taken.filter((t) => t.length > 0).length).toBeGreaterThan(1);
  expect(await producer.size()).toBe(0);
}, 30_000);

test('dequeue blocks until an item arrives; waitTimeoutMs and abort stop waiting', async () => {
  const q = queue(etcd.client, 'block');
  await expect(q.dequeue({ waitTimeoutMs: 300 })).rejects.toBeInstanceOf(QueueTimeoutError);
  const ac = new AbortController();
  const aborted = q.dequeue({ signal: ac.signal });
  await sleep(100);
  ac.abort();
  await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
  let got: string | undefined;
  const waiting = q.dequeue({ waitTimeoutMs: 10_000 }).then((kv) => {
    got = kv.text();
  });
  await sleep(300);
  expect(got).toBeUndefined();
  await q.enqueue('late');
  await withTimeout(waiting, 5000, 'blocked dequeue');
  expect(got).toBe('late');
  expect(await q.size()).toBe(0);
});

test("items enqueued under Go recipes' layout (<name>/<unix ns>) are taken by create revision", async () => {
  // etcd's Go recipe names items by the producer's clock; order comes from create revisions.
  await etcd.client.put('interop/9000000000000000000', 'first');
  await etcd.client.put('interop/1000000000000000000', 'second');
  const q = queue(etcd.client, 'interop');
  expect((await q.dequeue()).text()).toBe('first');
  expect((await q.dequeue()).text()).toBe('second');
});

test('examples/queue runs and prints what it promises', async () => {
  expect((await etcd.example('queue')).lines).toEqual([
    'jobs taken: 12, distinct: 12',
    'each consumer got its jobs in order: true',
    'left in the queue: 0',
    'peek: first, then dequeue: first, second',
    'tryDequeue on an empty queue: nothing',
  ]);
});
