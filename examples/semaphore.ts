/**
 * Limit how many workers use a resource at once, across processes, with a counting semaphore.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 node dist/examples/semaphore.js
 *
 * Six render jobs share the two permits of `examples/render-slots`: at most two run at any
 * time, whichever process they run in; the others queue and get in as permits come back.
 */
import { semaphore } from '../recipes/index.js';
import { Client } from '../src/index.js';

const client = new Client({ endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',') });
const slots = semaphore(client, 'examples/render-slots', { limit: 2, ttl: 10 });

{
  // Take both permits; `await using` gives them back at the end of the block.
  await using a = await slots.acquire();
  await using b = await slots.acquire();
  console.log(
    `permits held: ${(await slots.holders()).length} of ${slots.limit} (${a.signal.aborted || b.signal.aborted ? 'lost' : 'ok'})`,
  );
  const extra = await slots.tryAcquire();
  console.log(`tryAcquire while both are held: ${extra ? 'got one' : 'none free'}`);
}

let running = 0;
let most = 0;
async function render(job: number): Promise<number> {
  return slots.withPermit(async () => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 100));
    running--;
    return job;
  });
}
const done = await Promise.all([1, 2, 3, 4, 5, 6].map(render));
console.log(`${done.length} jobs done, at most ${most} at once`);
console.log(`permits held now: ${(await slots.holders()).length}`);
client.close();
