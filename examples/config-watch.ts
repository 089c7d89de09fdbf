/**
 * Watch a configuration prefix and keep an in-memory copy of it up to date.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/config-watch.ts
 *
 * Reads the current values and the revision they were read at, then watches from the next
 * revision: no change between the read and the watch is missed, and none is seen twice.
 */
import { Client } from '../src/index.js';

const client = new Client({ endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',') });
const config = client.namespace('config/');

const snapshot = await config.range({ prefix: '' });
const values = new Map(snapshot.kvs.map((kv) => [kv.keyText(), kv.text()]));
console.log('initial', Object.fromEntries(values));

const watch = await config.watch({ prefix: '' }, { startRevision: snapshot.header.revision + 1n });
process.once('SIGINT', () => watch.cancel());
for await (const ev of watch) {
  if (ev.type === 'put') values.set(ev.key.toString(), ev.kv.text());
  else values.delete(ev.key.toString());
  console.log(`rev ${ev.revision}: ${ev.type} ${ev.key}`, Object.fromEntries(values));
}
client.close();
