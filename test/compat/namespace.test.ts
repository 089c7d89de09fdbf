/**
 * Namespaces against a real etcd (one member): every key lands under the prefix (checked with the
 * root client and etcdctl), comes back stripped, and ranges never leave the namespace.
 */
import { compare, type Namespace, op, type WatchEvent } from '../../src/index.js';
import { withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'compat-ns' });

const text = (kvs: { key: Buffer }[]): string[] => kvs.map((kv) => kv.key.toString('utf8'));

/**
 * A namespace `<base>app/` plus root keys around it that a leaky range would pick up: `<base>app`
 * and `<base>app.` sort before it, `<base>app0` (its prefix end) and `<base>apq` after.
 */
async function setup(base: string): Promise<Namespace> {
  for (const k of ['app', 'app.', 'app0', 'app0/x', 'apq'])
    await etcd.client.put(`${base}${k}`, `outside ${k}`);
  return etcd.client.namespace(`${base}app/`);
}

describe('namespace keys', () => {
  test('put/get land under the prefix and come back stripped', async () => {
    const ns = await setup('ns1/');
    expect(ns.prefix).toEqual(Buffer.from('ns1/app/'));
    const put = await ns.put('k', 'v1');
    expect(put.prevKv).toBeUndefined();
    const again = await ns.put('k', 'v2', { prevKv: true });
    expect(again.prevKv?.keyText()).toBe('k');
    expect(again.prevKv?.text()).toBe('v1');

    expect(await etcd.client.getString('ns1/app/k')).toBe('v2');
    expect(await etcd.client.get('k')).toBeUndefined();
    const kv = await ns.get('k');
    expect(kv?.keyText()).toBe('k');
    expect(kv?.text()).toBe('v2');
    await ns.putJSON('j', { a: 1 });
    expect(await ns.getJSON('j')).toEqual({ a: 1 });
    expect(await etcd.client.getJSON('ns1/app/j')).toEqual({ a: 1 });

    // etcdctl sees the full key; a key written by etcdctl under the prefix is visible stripped.
    const ctl = await etcd.cluster.etcdctl(['get', 'ns1/app/k', '--print-value-only'], { check: true });
    expect(ctl.stdout).toBe('v2\n');
    await etcd.cluster.etcdctl(['put', 'ns1/app/from-ctl', 'c'], { check: true });
    expect(await ns.getString('from-ctl')).toBe('c');
  });

  test('binary keys in a namespace', async () => {
    const ns = etcd.client.namespace(Buffer.from([0x6e, 0x73, 0xff, 0x2f])); // "ns\xff/"
    const k = Buffer.from([0x00, 0xff]);
    await ns.put(k, 'b');
    expect((await etcd.client.get(Buffer.from([0x6e, 0x73, 0xff, 0x2f, 0x00, 0xff])))?.text()).toBe('b');
    const got = await ns.get(k);
    expect(got?.key).toEqual(k);
    expect((await ns.range({ prefix: '' })).kvs.map((x) => x.key)).toEqual([k]);
  });
});

describe('namespace ranges', () => {
  let ns: Namespace;
  beforeAll(async () => {
    ns = await setup('ns2/');
    for (const k of ['a', 'b', 'm', 'z']) await ns.put(k, k);
  });

  test("{ prefix: '' } is exactly the namespace", async () => {
    const r = await ns.range({ prefix: '' });
    expect(text(r.kvs)).toEqual(['a', 'b', 'm', 'z']);
    expect(r.count).toBe(4n);
    expect(await ns.count({ prefix: '' })).toBe(4n);
    // The root sees the keys around it.
    const root = await etcd.client.range({ prefix: 'ns2/' });
    expect(text(root.kvs)).toEqual([
      'ns2/app',
      'ns2/app.',
      'ns2/app/a',
      'ns2/app/b',
      'ns2/app/m',
      'ns2/app/z',
      'ns2/app0',
      'ns2/app0/x',
      'ns2/apq',
    ]);
  });

  test('{ prefix } inside the namespace', async () => {
    await ns.put('pre/1', '1');
    await ns.put('pre/2', '2');
    await ns.put('pre', 'not under pre/');
    const r = await ns.range({ prefix: 'pre/' });
    expect(text(r.kvs)).toEqual(['pre/1', 'pre/2']);
    expect(await ns.count({ prefix: 'pre' })).toBe(3n);
    await ns.delete({ prefix: 'pre' });
  });

  test('{ fromKey } stops at the end of the namespace', async () => {
    const r = await ns.range({ fromKey: 'm' });
    expect(text(r.kvs)).toEqual(['m', 'z']);
    const all = await ns.range({ fromKey: '' });
    expect(text(all.kvs)).toEqual(['a', 'b', 'm', 'z']);
  });

  test('{ key, end } is relative; an end of "\\0" means the namespace end; an empty end is one key', async () => {
    expect(text((await ns.range({ key: 'a', end: 'm' })).kvs)).toEqual(['a', 'b']);
    expect(text((await ns.range({ key: 'b', end: '\0' })).kvs)).toEqual(['b', 'm', 'z']);
    // At the root an empty end (no range_end on the wire) is the single key; same in a namespace.
    expect(text((await etcd.client.range({ key: 'ns2/app/b', end: '' })).kvs)).toEqual(['ns2/app/b']);
    expect(text((await ns.range({ key: 'b', end: '' })).kvs)).toEqual(['b']);
  });

  test('limit and sort in a namespace', async () => {
    const r = await ns.range({ prefix: '' }, { limit: 2, sort: { target: 'key', order: 'descend' } });
    expect(text(r.kvs)).toEqual(['z', 'm']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(4n);
  });

  test('nested namespaces', async () => {
    const inner = ns.namespace('sub/');
    expect(inner.prefix).toEqual(Buffer.from('ns2/app/sub/'));
    await inner.put('x', '1');
    await inner.put('y', '2');
    expect(await etcd.client.getString('ns2/app/sub/x')).toBe('1');
    expect(text((await ns.range({ prefix: 'sub/' })).kvs)).toEqual(['sub/x', 'sub/y']);
    expect(text((await inner.range({ prefix: '' })).kvs)).toEqual(['x', 'y']);
    // A namespace of the client equal to the nested one is the same keyspace.
    expect(text((await etcd.client.namespace('ns2/app/sub/').range({ prefix: '' })).kvs)).toEqual(['x', 'y']);
    // { fromKey } in the inner namespace stops at its end, not at the outer one's.
    expect(text((await inner.range({ fromKey: 'y' })).kvs)).toEqual(['y']);
    expect((await inner.delete({ prefix: '' })).deleted).toBe(2n);
    expect(text((await ns.range({ prefix: '' })).kvs)).toEqual(['a', 'b', 'm', 'z']);
  });
});

describe('namespace delete and txn', () => {
  test('delete: single, prefix with prevKv (stripped), and { prefix: "" } leaves the outside alone', async () => {
    const ns = await setup('ns3/');
    for (const k of ['a', 'b/1', 'b/2', 'c']) await ns.put(k, `v${k}`);
    expect((await ns.delete('a')).deleted).toBe(1n);
    expect(await etcd.client.get('ns3/app/a')).toBeUndefined();
    const r = await ns.delete({ prefix: 'b/' }, { prevKv: true });
    expect(r.deleted).toBe(2n);
    expect(r.prevKvs.map((kv) => [kv.keyText(), kv.text()])).toEqual([
      ['b/1', 'vb/1'],
      ['b/2', 'vb/2'],
    ]);
    const all = await ns.delete({ prefix: '' });
    expect(all.deleted).toBe(1n);
    expect(text((await etcd.client.range({ prefix: 'ns3/' })).kvs)).toEqual([
      'ns3/app',
      'ns3/app.',
      'ns3/app0',
      'ns3/app0/x',
      'ns3/apq',
    ]);
  });

  test('delete { fromKey } stops at the namespace end', async () => {
    const ns = await setup('ns4/');
    for (const k of ['a', 'b', 'c']) await ns.put(k, k);
    const r = await ns.delete({ fromKey: 'b' }, { prevKv: true });
    expect(r.deleted).toBe(2n);
    expect(text(r.prevKvs)).toEqual(['b', 'c']);
    expect(text((await etcd.client.range({ prefix: 'ns4/' })).kvs)).toEqual([
      'ns4/app',
      'ns4/app.',
      'ns4/app/a',
      'ns4/app0',
      'ns4/app0/x',
      'ns4/apq',
    ]);
  });

  test('txn compares and ops are prefixed, results stripped', async () => {
    const ns = await setup('ns5/');
    await ns.put('counter', '1');
    // A root key with the same relative name must not influence the compare.
    await etcd.client.put('counter', 'root');
    const r = await ns
      .txn()
      .if(
        compare.value('counter', '==', '1'),
        compare.missing('new'),
        compare.version({ prefix: '' }, '==', 1),
      )
      .success(op.put('counter', '2', { prevKv: true }), op.put('new', 'n'), op.get({ prefix: '' }))
      .commit();
    expect(r.succeeded).toBe(true);
    const [put, , get] = r.responses;
    expect(put?.type === 'put' && put.prevKv?.keyText()).toBe('counter');
    expect(get?.type === 'range' && text(get.kvs)).toEqual(['counter', 'new']);
    expect(await etcd.client.getString('ns5/app/counter')).toBe('2');
    expect(await etcd.client.getString('ns5/app/new')).toBe('n');
    // (etcd refuses a put and a delete of the same key in one txn, so the delete is its own txn.)
    const d = await ns
      .txn()
      .if(compare.exists('new'))
      .success(op.delete({ prefix: '' }, { prevKv: true }))
      .commit();
    const del = d.responses[0];
    expect(del?.type === 'delete' && text(del.prevKvs)).toEqual(['counter', 'new']);
    expect(await etcd.client.getString('counter')).toBe('root');
    expect(await etcd.client.count({ prefix: 'ns5/app/' })).toBe(0n);
    expect(await etcd.client.count({ prefix: 'ns5/' })).toBe(5n);

    // The failure branch, keyed relative to the namespace too.
    await ns.put('flag', 'x');
    const f = await ns
      .txn()
      .if(compare.value('flag', '==', 'y'))
      .failure(op.put('flag', 'failed'), op.get('flag'))
      .commit();
    expect(f.succeeded).toBe(false);
    expect(await etcd.client.getString('ns5/app/flag')).toBe('failed');
    expect(f.responses[1]?.type === 'range' && text(f.responses[1].kvs)).toEqual(['flag']);
  });
});

describe('namespace watch', () => {
  test('sees stripped keys of the namespace only', async () => {
    const ns = await setup('ns6/');
    const w = await ns.watch({ prefix: '' });
    const it = w[Symbol.asyncIterator]();
    const next = async (): Promise<WatchEvent> => {
      const r = await withTimeout(it.next(), 5000, 'namespace watch event');
      if (r.done) throw new Error('watch ended');
      return r.value;
    };
    try {
      // Writes just outside the namespace, then inside: only the inside ones may arrive.
      await etcd.client.put('ns6/app0', 'outside');
      await etcd.client.put('ns6/apq', 'outside');
      await etcd.client.put('ns6/app', 'outside');
      await ns.put('w/1', 'one');
      await etcd.client.put('ns6/app0/x', 'outside');
      await etcd.client.put('ns6/app/w/2', 'two via root');
      await ns.delete('w/1');

      const e1 = await next();
      expect(e1.type).toBe('put');
      expect(e1.key.toString()).toBe('w/1');
      expect(e1.kv.keyText()).toBe('w/1');
      expect(e1.kv.text()).toBe('one');
      const e2 = await next();
      expect([e2.type, e2.key.toString(), e2.kv.text()]).toEqual(['put', 'w/2', 'two via root']);
      const e3 = await next();
      expect([e3.type, e3.key.toString()]).toEqual(['delete', 'w/1']);
      expect(e3.revision).toBeGreaterThan(e2.revision);
    } finally {
      await it.return?.();
      w.cancel();
    }
    expect(w.closed).toBe(true);
  });

  test('a key watch in a nested namespace', async () => {
    const inner = etcd.client.namespace('ns7/').namespace('in/');
    const w = await inner.watch('k', { prevKv: true });
    const it = w[Symbol.asyncIterator]();
    try {
      await etcd.client.put('k', 'root k');
      await etcd.client.put('ns7/k', 'outer k');
      await inner.put('k', 'v1');
      await inner.put('k', 'v2');
      const a = await withTimeout(it.next(), 5000, 'nested namespace watch event');
      const b = await withTimeout(it.next(), 5000, 'nested namespace watch event');
      expect(a.done || b.done).toBe(false);
      const e1 = a.value as WatchEvent;
      const e2 = b.value as WatchEvent;
      expect([e1.key.toString(), e1.kv.text()]).toEqual(['k', 'v1']);
      expect([e2.key.toString(), e2.kv.text(), e2.prevKv?.keyText(), e2.prevKv?.text()]).toEqual([
        'k',
        'v2',
        'k',
        'v1',
      ]);
    } finally {
      await it.return?.();
      w.cancel();
    }
  });
});
