/**
 * cache(): the initial load, synchronous reads and iteration, put/delete/change events with the
 * old and new values, the async iterator of changes, a namespace, keys outside the prefix left
 * out, and close() ending everything.
 */
import { type CacheChange, cache } from '../../recipes/index.js';
import { waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'cache' });
let seq = 0;
const fresh = (name: string) => `cache/${name}/${++seq}/`;

const summary = (c: CacheChange) => [c.type, c.key, c.prev?.text(), c.next?.text(), c.revision];

test('loads the prefix, reads synchronously, reports each change once with old and new values', async () => {
  const p = fresh('basic');
  await etcd.client.put(`${p}a`, '1');
  await etcd.client.put(`${p}b`, '2');
  await etcd.client.put(`${p.slice(0, -1)}x`, 'outside');
  const c = cache(etcd.client, p);
  await c.ready();
  expect(c.loaded).toBe(true);
  expect(c.stale).toBe(false);
  expect(c.size).toBe(2);
  expect(c.get(`${p}a`)?.text()).toBe('1');
  expect(c.has(`${p}b`)).toBe(true);
  expect([...c].map(([k, kv]) => [k, kv.text()])).toEqual([
    [`${p}a`, '1'],
    [`${p}b`, '2'],
  ]);
  expect([...c.keys()]).toEqual([`${p}a`, `${p}b`]);

  const events: string[] = [];
  const changes: CacheChange[] = [];
  c.on('put', (ch) => events.push(`put ${ch.key}`));
  c.on('delete', (ch) => events.push(`delete ${ch.key}`));
  c.on('change', (ch) => changes.push(ch));
  const iterated = c.changes();

  const r1 = await etcd.client.put(`${p}a`, '1b');
  const r2 = await etcd.client.put(`${p}c`, '3');
  const r3 = await etcd.client.delete(`${p}b`);
  await etcd.client.put(`${p.slice(0, -1)}y`, 'outside');
  await waitFor(() => changes.length === 3, { timeoutMs: 5000, what: 'three changes' });
  expect(changes.map(summary)).toEqual([
    ['put', `${p}a`, '1', '1b', r1.header.revision],
    ['put', `${p}c`, undefined, '3', r2.header.revision],
    ['delete', `${p}b`, '2', undefined, r3.header.revision],
  ]);
  expect(events).toEqual([`put ${p}a`, `put ${p}c`, `delete ${p}b`]);
  expect(c.size).toBe(2);
  expect(c.get(`${p}b`)).toBeUndefined();
  expect(c.revision).toBeGreaterThanOrEqual(r3.header.revision);
  const fromIterator: unknown[] = [];
  for (let i = 0; i < 3; i++)
    fromIterator.push(summary((await withTimeout(iterated.next(), 3000, 'next')).value));
  expect(fromIterator).toEqual(changes.map(summary));

  const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
  c.close();
  await withTimeout(closed, 3000, 'close event');
  expect(c.closed).toBe(true);
  expect((await withTimeout(iterated.next(), 3000, 'end')).done).toBe(true);
  await etcd.client.put(`${p}d`, '4');
  expect(c.has(`${p}d`)).toBe(false);
  expect(etcd.client.holding.watches).toBe(0);
});

test('on a namespace, keys are relative to it', async () => {
  const p = fresh('ns');
  const ns = etcd.client.namespace(p);
  await ns.put('cfg/a', '1');
  const c = cache(ns, 'cfg/');
  await c.ready();
  expect([...c.keys()]).toEqual(['cfg/a']);
  const put = new Promise<CacheChange>((resolve) => c.once('put', resolve));
  await etcd.client.put(`${p}cfg/b`, '2');
  expect(summary(await withTimeout(put, 3000, 'put'))[1]).toBe('cfg/b');
  expect(c.get('cfg/b')?.text()).toBe('2');
  c.close();
});

test('a signal closes it; ready() rejects when the load fails', async () => {
  const ac = new AbortController();
  const c = cache(etcd.client, fresh('signal'), { signal: ac.signal });
  await c.ready();
  ac.abort();
  expect(c.closed).toBe(true);
  expect(etcd.client.holding.watches).toBe(0);
  const dead = etcd.newClient(['http://127.0.0.1:9'], { timeoutMs: 300 });
  const failing = cache(dead, fresh('down'));
  await expect(failing.ready()).rejects.toThrow();
  expect(failing.loaded).toBe(false);
  failing.close();
});
