/**
 * Service registry: two instances register, a client discovers them, picks one per request,
 * and sees an instance leave.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 node dist/examples/registry.js
 */
import { discover, register } from '../recipes/index.js';
import { Client } from '../src/index.js';

const client = new Client({ endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',') });
const service = `example-api-${process.pid}`;

// Each instance keeps its key alive on a 5 s lease; if its process dies, the key goes within 5 s.
const one = await register(
  client,
  service,
  { id: 'api-1', address: '127.0.0.1:8081', meta: { zone: 'a' } },
  { ttl: 5 },
);
const two = await register(
  client,
  service,
  { id: 'api-2', address: '127.0.0.1:8082', meta: { zone: 'b' } },
  { ttl: 5 },
);

// A consumer: one range, then a watch keeps the view current.
const view = await discover(client, service);
console.log(
  `instances: ${view
    .instances()
    .map((i) => `${i.id}@${i.address}`)
    .join(', ')}`,
);
console.log(`round robin: ${[1, 2, 3, 4].map(() => view.pick.roundRobin()?.id).join(', ')}`);

const removed = new Promise<void>((resolve) =>
  view.once('remove', (i) => {
    console.log(
      `remove ${i.id} (now: ${view
        .instances()
        .map((x) => x.id)
        .join(', ')})`,
    );
    resolve();
  }),
);
await two.close(); // deregisters at once
await removed;

await one.close();
view.close();
client.close();
