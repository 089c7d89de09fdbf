/**
 * Count page views from many clients at once, without losing an update.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 node dist/examples/counter.js
 *
 * Four clients (as if four servers) add to one counter concurrently; compare-and-swap with
 * retries makes every increment count. compareAndSet() then resets it only if nobody changed
 * it in between.
 */
import { counter } from '../recipes/index.js';
import { Client } from '../src/index.js';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
const servers = [1, 2, 3, 4].map(() => new Client({ endpoints }));
const views = (c: Client) => counter(c, 'examples/page-views');

await views(servers[0]!).set(0);
await Promise.all(
  servers.map(async (c) => {
    for (let i = 0; i < 25; i++) await views(c).increment();
  }),
);
const total = await views(servers[0]!).get();
console.log(`page views after 4 x 25 concurrent increments: ${total}`);
console.log(`reset from ${total} to 0: ${await views(servers[1]!).compareAndSet(total, 0)}`);
console.log(`reset from ${total} to 0 again: ${await views(servers[2]!).compareAndSet(total, 0)}`);
console.log(`decrement: ${await views(servers[3]!).decrement()}`);
console.log(`add 2^64: ${await views(servers[0]!).add(2n ** 64n)}`);
for (const c of servers) c.close();
