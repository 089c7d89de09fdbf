/**
 * A work queue shared by several consumers: every job is taken by exactly one of them.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 node dist/examples/queue.js
 *
 * Three consumers wait on an empty queue; a producer then enqueues 12 jobs. Each job is
 * dequeued once, and each consumer receives its jobs in the order they were enqueued.
 */
import { queue } from '../recipes/index.js';
import { Client } from '../src/index.js';

const client = new Client({ endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',') });
const jobs = queue(client, 'examples/jobs');

const stop = new AbortController();
const taken: number[][] = [[], [], []];
const consumers = taken.map(async (mine) => {
  try {
    for (;;) {
      const item = await jobs.dequeue({ signal: stop.signal });
      mine.push(item.json<{ n: number }>().n);
      if (taken.flat().length === 12) stop.abort();
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  }
});

for (let n = 1; n <= 12; n++) await jobs.enqueue(JSON.stringify({ n }));
await Promise.all(consumers);

const all = taken.flat().sort((a, b) => a - b);
console.log(`jobs taken: ${all.length}, distinct: ${new Set(all).size}`);
console.log(
  `each consumer got its jobs in order: ${taken.every((t) => t.every((n, i) => i === 0 || n > t[i - 1]!))}`,
);
console.log(`left in the queue: ${await jobs.size()}`);

await jobs.enqueue('first');
await jobs.enqueue('second');
console.log(
  `peek: ${(await jobs.peek())?.text()}, then dequeue: ${(await jobs.dequeue()).text()}, ${(await jobs.dequeue()).text()}`,
);
console.log(`tryDequeue on an empty queue: ${(await jobs.tryDequeue()) ?? 'nothing'}`);
client.close();
