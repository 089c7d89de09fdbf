/**
 * Many readers or one writer: a read-write lock around a shared document.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 node dist/examples/rwlock.js
 *
 * Three readers hold the lock together. A writer then queues: it waits for them, and a reader
 * arriving after it waits for the writer (writers are not starved). Fencing tokens (create
 * revisions) order the writer before the late reader.
 */
import { rwlock } from '../recipes/index.js';
import { Client } from '../src/index.js';

const client = new Client({ endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',') });
const doc = rwlock(client, 'examples/doc-lock', { ttl: 10 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const readers = await Promise.all([doc.readLock(), doc.readLock(), doc.readLock()]);
console.log(`${readers.length} readers hold the lock together`);

const writer = doc.writeLock().then((w) => {
  console.log('writer: in, after the readers left');
  return w;
});
await sleep(200);
const lateReader = await doc.tryReadLock();
console.log(`a reader arriving while the writer waits: ${lateReader ? 'let in' : 'must wait'}`);
const late = doc.readLock();

console.log('readers: leaving');
await Promise.all(readers.map((r) => r.release()));
const w = await writer;
await w.release();
const r = await late;
console.log(
  `late reader: in after the writer (token ${r.fencingToken > w.fencingToken ? 'higher' : 'lower'})`,
);
await r.release();
client.close();
