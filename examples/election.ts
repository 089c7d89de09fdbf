/**
 * Leader election: two candidates, one observer. The first leads, hands over on resign, and
 * the observer sees each leader in turn.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 node dist/examples/election.js
 */
import { elect, observe } from '../recipes/index.js';
import { Client } from '../src/index.js';

const client = new Client({ endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',') });
const name = `examples/scheduler-${process.pid}`;

const stop = new AbortController();
const watching = (async () => {
  try {
    for await (const leader of observe(client, name, { signal: stop.signal })) {
      console.log(`observer: leader is ${leader.text()}`);
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  }
})();

const a = elect(client, name, { value: 'node-a', ttl: 10 });
const b = elect(client, name, { value: 'node-b', ttl: 10 });
await a.campaign();
console.log('node-a: elected');
const bElected = b.campaign().then(() => console.log('node-b: elected'));
await new Promise((r) => setTimeout(r, 200));
await a.resign();
await bElected;
await new Promise((r) => setTimeout(r, 200));
await b.resign();
stop.abort();
await watching;
client.close();
