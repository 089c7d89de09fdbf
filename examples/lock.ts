/**
 * Guard a job with a lock, and fence the write it makes with the lock's token.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 node dist/examples/lock.js
 *
 * Two workers race for the same lock; each, while holding it, writes a report guarded by
 * `held.guard()`: a holder that lost the lock (paused past its TTL, say) cannot overwrite the
 * work of the one that took over.
 */
import { withLock } from '../recipes/index.js';
import { Client, op } from '../src/index.js';

const client = new Client({ endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',') });

async function worker(name: string): Promise<void> {
  await withLock(
    client,
    'examples/nightly-report',
    async ({ fencingToken, lock }) => {
      const r = await client
        .txn()
        .if(lock.guard())
        .success(op.put('examples/report', `written by ${name} with token ${fencingToken}`))
        .commit();
      console.log(
        `${name} held the lock (token ${fencingToken > 0n ? 'ok' : '?'}), fenced write ok: ${r.succeeded}`,
      );
    },
    { ttl: 10 },
  );
}

await Promise.all([worker('worker-a'), worker('worker-b')]);
console.log('report:', (await client.getString('examples/report'))?.replace(/token \d+/, 'token N'));
client.close();
