/**
 * Transactions against a real etcd (one member): every compare target and operator, ranges in
 * compares, both branches with typed results, nested transactions, one revision per txn.
 */
import { type CompareSpec, compare, type Lease, type OpResult, op, txn } from '../../src/index.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'compat-txn' });

/** Whether a txn with just this compare takes the success branch. */
async function holds(...c: CompareSpec[]): Promise<boolean> {
  return (
    await etcd.client
      .txn()
      .if(...c)
      .commit()
  ).succeeded;
}

function expectType<T extends OpResult['type']>(
  r: OpResult | undefined,
  type: T,
): Extract<OpResult, { type: T }> {
  expect(r?.type).toBe(type);
  return r as Extract<OpResult, { type: T }>;
}

describe('compares', () => {
  test('value: ==, !=, >, < (bytewise)', async () => {
    await etcd.client.put('txn/cmp/v', 'm');
    expect(await holds(compare.value('txn/cmp/v', '==', 'm'))).toBe(true);
    expect(await holds(compare.value('txn/cmp/v', '==', 'n'))).toBe(false);
    expect(await holds(compare.value('txn/cmp/v', '!=', 'n'))).toBe(true);
    expect(await holds(compare.value('txn/cmp/v', '!=', 'm'))).toBe(false);
    expect(await holds(compare.value('txn/cmp/v', '>', 'l'))).toBe(true);
    expect(await holds(compare.value('txn/cmp/v', '>', 'm'))).toBe(false);
    expect(await holds(compare.value('txn/cmp/v', '<', 'n'))).toBe(true);
    expect(await holds(compare.value('txn/cmp/v', '<', 'm'))).toBe(false);
    // Bytes compare as bytes.
    await etcd.client.put('txn/cmp/bin', Buffer.from([0x00, 0xff]));
    expect(await holds(compare.value('txn/cmp/bin', '==', Buffer.from([0x00, 0xff])))).toBe(true);
    expect(await holds(compare.value('txn/cmp/bin', '==', new Uint8Array([0x00, 0xfe])))).toBe(false);
    // etcd: a value compare on a missing key always fails, even !=.
    expect(await holds(compare.value('txn/cmp/none', '!=', 'x'))).toBe(false);
  });

  test('version: ==, !=, >, <, and 0 for a missing key', async () => {
    await etcd.client.put('txn/cmp/ver', '1');
    await etcd.client.put('txn/cmp/ver', '2');
    expect(await holds(compare.version('txn/cmp/ver', '==', 2))).toBe(true);
    expect(await holds(compare.version('txn/cmp/ver', '==', 1n))).toBe(false);
    expect(await holds(compare.version('txn/cmp/ver', '!=', 1))).toBe(true);
    expect(await holds(compare.version('txn/cmp/ver', '!=', 2))).toBe(false);
    expect(await holds(compare.version('txn/cmp/ver', '>', 1))).toBe(true);
    expect(await holds(compare.version('txn/cmp/ver', '>', 2))).toBe(false);
    expect(await holds(compare.version('txn/cmp/ver', '<', 3))).toBe(true);
    expect(await holds(compare.version('txn/cmp/ver', '<', 2))).toBe(false);
    expect(await holds(compare.version('txn/cmp/none', '==', 0))).toBe(true);
  });

  test('createRevision and modRevision: ==, !=, >, <', async () => {
    const c = await etcd.client.put('txn/cmp/rev', '1');
    const m = await etcd.client.put('txn/cmp/rev', '2');
    const cr = c.header.revision;
    const mr = m.header.revision;
    expect(await holds(compare.createRevision('txn/cmp/rev', '==', cr))).toBe(true);
    expect(await holds(compare.createRevision('txn/cmp/rev', '==', mr))).toBe(false);
    expect(await holds(compare.createRevision('txn/cmp/rev', '!=', mr))).toBe(true);
    expect(await holds(compare.createRevision('txn/cmp/rev', '>', cr - 1n))).toBe(true);
    expect(await holds(compare.createRevision('txn/cmp/rev', '>', cr))).toBe(false);
    expect(await holds(compare.createRevision('txn/cmp/rev', '<', cr + 1n))).toBe(true);
    expect(await holds(compare.createRevision('txn/cmp/rev', '<', cr))).toBe(false);

    expect(await holds(compare.modRevision('txn/cmp/rev', '==', mr))).toBe(true);
    expect(await holds(compare.modRevision('txn/cmp/rev', '==', cr))).toBe(false);
    expect(await holds(compare.modRevision('txn/cmp/rev', '!=', cr))).toBe(true);
    expect(await holds(compare.modRevision('txn/cmp/rev', '!=', mr))).toBe(false);
    expect(await holds(compare.modRevision('txn/cmp/rev', '>', cr))).toBe(true);
    expect(await holds(compare.modRevision('txn/cmp/rev', '>', mr))).toBe(false);
    expect(await holds(compare.modRevision('txn/cmp/rev', '<', mr + 1n))).toBe(true);
    expect(await holds(compare.modRevision('txn/cmp/rev', '<', mr))).toBe(false);
  });

  test('lease: ==, !=, >, < with a Lease, an id, or 0 for none', async () => {
    let lease: Lease | undefined;
    try {
      lease = await etcd.client.lease({ ttl: 30 });
      await etcd.client.put('txn/cmp/leased', 'v', { lease });
      await etcd.client.put('txn/cmp/unleased', 'v');
      expect(await holds(compare.lease('txn/cmp/leased', '==', lease))).toBe(true);
      expect(await holds(compare.lease('txn/cmp/leased', '==', lease.id))).toBe(true);
      expect(await holds(compare.lease('txn/cmp/leased', '==', lease.id + 1n))).toBe(false);
      expect(await holds(compare.lease('txn/cmp/leased', '!=', 0))).toBe(true);
      expect(await holds(compare.lease('txn/cmp/leased', '!=', lease))).toBe(false);
      expect(await holds(compare.lease('txn/cmp/leased', '>', 0))).toBe(true);
      expect(await holds(compare.lease('txn/cmp/leased', '>', lease))).toBe(false);
      expect(await holds(compare.lease('txn/cmp/leased', '<', lease.id + 1n))).toBe(true);
      expect(await holds(compare.lease('txn/cmp/leased', '<', lease))).toBe(false);
      expect(await holds(compare.lease('txn/cmp/unleased', '==', 0))).toBe(true);
      expect(await holds(compare.lease('txn/cmp/unleased', '==', lease))).toBe(false);
    } finally {
      await lease?.revoke();
    }
  });

  test('exists / missing', async () => {
    await etcd.client.put('txn/cmp/here', 'x');
    expect(await holds(compare.exists('txn/cmp/here'))).toBe(true);
    expect(await holds(compare.missing('txn/cmp/here'))).toBe(false);
    expect(await holds(compare.exists('txn/cmp/gone'))).toBe(false);
    expect(await holds(compare.missing('txn/cmp/gone'))).toBe(true);
    // An empty value still exists.
    await etcd.client.put('txn/cmp/empty', '');
    expect(await holds(compare.exists('txn/cmp/empty'))).toBe(true);
    // After a delete the key is missing again.
    await etcd.client.delete('txn/cmp/here');
    expect(await holds(compare.missing('txn/cmp/here'))).toBe(true);
  });

  test('all compares must hold', async () => {
    await etcd.client.put('txn/cmp/and', 'a');
    expect(await holds(compare.exists('txn/cmp/and'), compare.value('txn/cmp/and', '==', 'a'))).toBe(true);
    expect(await holds(compare.exists('txn/cmp/and'), compare.value('txn/cmp/and', '==', 'b'))).toBe(false);
  });

  test('a compare on a range holds only if it holds for every key in it', async () => {
    await etcd.client.put('txn/rng/a', '1');
    await etcd.client.put('txn/rng/b', '1');
    await etcd.client.put('txn/rng/c', '1');
    await etcd.client.put('txn/rng0', '2'); // just past the prefix
    expect(await holds(compare.value({ prefix: 'txn/rng/' }, '==', '1'))).toBe(true);
    expect(await holds(compare.version({ prefix: 'txn/rng/' }, '==', 1))).toBe(true);
    await etcd.client.put('txn/rng/b', '2');
    expect(await holds(compare.value({ prefix: 'txn/rng/' }, '==', '1'))).toBe(false);
    expect(await holds(compare.version({ prefix: 'txn/rng/' }, '==', 1))).toBe(false);
    expect(await holds(compare.version({ prefix: 'txn/rng/' }, '>', 0))).toBe(true);
    // { key, end } excludes the end: b is outside [a, b).
    expect(await holds(compare.value({ key: 'txn/rng/a', end: 'txn/rng/b' }, '==', '1'))).toBe(true);
    expect(await holds(compare.value({ key: 'txn/rng/a', end: 'txn/rng/c' }, '==', '1'))).toBe(false);
    // An empty range: version compares see a zero key-value.
    expect(await holds(compare.version({ prefix: 'txn/rng/none/' }, '==', 0))).toBe(true);
  });

  test('an invalid operator is refused before sending', () => {
    expect(() => compare.value('k', '>=' as '>', 'v')).toThrow(TypeError);
  });
});

describe('branches and results', () => {
  test('success branch: typed results for range, put, delete', async () => {
    await etcd.client.put('txn/br/a', 'old');
    await etcd.client.put('txn/br/gone', 'bye');
    const r = await etcd.client
      .txn()
      .if(compare.value('txn/br/a', '==', 'old'))
      .success(
        op.get('txn/br/a'),
        op.put('txn/br/a', 'new', { prevKv: true }),
        op.delete('txn/br/gone', { prevKv: true }),
        op.get({ prefix: 'txn/br/' }, { countOnly: true }),
      )
      .failure(op.put('txn/br/failed', 'yes'))
      .commit();
    expect(r.succeeded).toBe(true);
    expect(r.responses.map((x) => x.type)).toEqual(['range', 'put', 'delete', 'range']);
    const get = expectType(r.responses[0], 'range');
    expect(get.kvs.map((kv) => kv.text())).toEqual(['old']);
    const put = expectType(r.responses[1], 'put');
    expect(put.prevKv?.text()).toBe('old');
    const del = expectType(r.responses[2], 'delete');
    expect(del.deleted).toBe(1n);
    expect(del.prevKvs.map((kv) => kv.text())).toEqual(['bye']);
    // Ops see the effects of earlier ops in the same txn.
    const count = expectType(r.responses[3], 'range');
    expect(count.count).toBe(1n);
    expect(await etcd.client.getString('txn/br/a')).toBe('new');
    expect(await etcd.client.get('txn/br/gone')).toBeUndefined();
    expect(await etcd.client.get('txn/br/failed')).toBeUndefined();
  });

  test('failure branch runs only the failure ops', async () => {
    await etcd.client.put('txn/fb/a', 'current');
    const r = await etcd.client
      .txn()
      .if(compare.value('txn/fb/a', '==', 'stale'))
      .success(op.put('txn/fb/a', 'overwritten'))
      .failure(op.get('txn/fb/a'), op.put('txn/fb/lost', 'yes'))
      .commit();
    expect(r.succeeded).toBe(false);
    expect(r.responses.map((x) => x.type)).toEqual(['range', 'put']);
    expect(expectType(r.responses[0], 'range').kvs[0]?.text()).toBe('current');
    expect(await etcd.client.getString('txn/fb/a')).toBe('current');
    expect(await etcd.client.getString('txn/fb/lost')).toBe('yes');
  });

  test('no compares: success runs; an empty txn is fine', async () => {
    const r = await etcd.client.txn().success(op.put('txn/nc/k', 'v')).commit();
    expect(r.succeeded).toBe(true);
    expect(r.responses).toHaveLength(1);
    expect(await etcd.client.getString('txn/nc/k')).toBe('v');
    const empty = await etcd.client.txn().commit();
    expect(empty.succeeded).toBe(true);
    expect(empty.responses).toEqual([]);
  });

  test('a txn is one revision: every put shares the mod revision', async () => {
    const before = (await etcd.client.range('txn/none')).header.revision;
    const r = await etcd.client
      .txn()
      .success(
        op.put('txn/one/a', '1'),
        op.put('txn/one/b', '1'),
        op.put('txn/one/c', '1'),
        op.delete('txn/one/x'),
      )
      .commit();
    expect(r.header.revision).toBe(before + 1n);
    const kvs = (await etcd.client.range({ prefix: 'txn/one/' })).kvs;
    expect(kvs).toHaveLength(3);
    for (const kv of kvs) {
      expect(kv.modRevision).toBe(r.header.revision);
      expect(kv.createRevision).toBe(r.header.revision);
    }
    for (const x of r.responses) expect(x.header.revision).toBe(r.header.revision);
    // etcdctl sees one revision too.
    const ctl = await etcd.cluster.etcdctl(['get', 'txn/one/', '--prefix', '-w', 'json'], { check: true });
    const mods = [...ctl.stdout.matchAll(/"mod_revision":(\d+)/g)].map((m) => BigInt(m[1]!));
    expect(mods).toEqual([r.header.revision, r.header.revision, r.header.revision]);
  });

  test('a read-only txn does not change the revision', async () => {
    await etcd.client.put('txn/ro/k', 'v');
    const before = (await etcd.client.range('txn/ro/k')).header.revision;
    const r = await etcd.client.txn().if(compare.exists('txn/ro/k')).success(op.get('txn/ro/k')).commit();
    expect(r.header.revision).toBe(before);
  });
});

describe('nested txn', () => {
  test('op.txn(txn().if(..).success(..)): inner branches and typed nested results', async () => {
    await etcd.client.put('txn/nest/flag', 'on');
    await etcd.client.put('txn/nest/inner', 'x');
    const r = await etcd.client
      .txn()
      .if(compare.value('txn/nest/flag', '==', 'on'))
      .success(
        op.put('txn/nest/outer', 'done'),
        op.txn(
          txn()
            .if(compare.value('txn/nest/inner', '==', 'nope'))
            .success(op.put('txn/nest/inner-success', 'bad'))
            .failure(op.get('txn/nest/inner'), op.put('txn/nest/inner-failure', 'good')),
        ),
        op.txn({
          compare: [compare.exists('txn/nest/outer')],
          success: [op.put('txn/nest/second-success', 'bad')],
          failure: [op.get('txn/nest/outer')],
        }),
      )
      .commit();
    expect(r.succeeded).toBe(true);
    expect(r.responses.map((x) => x.type)).toEqual(['put', 'txn', 'txn']);
    const inner = expectType(r.responses[1], 'txn');
    expect(inner.succeeded).toBe(false);
    expect(inner.responses.map((x) => x.type)).toEqual(['range', 'put']);
    expect(expectType(inner.responses[0], 'range').kvs[0]?.text()).toBe('x');
    // etcd evaluates every compare, nested ones included, against the store before the txn: the
    // outer key did not exist then. Its ops, though, see the put made earlier in the same txn.
    const second = expectType(r.responses[2], 'txn');
    expect(second.succeeded).toBe(false);
    expect(expectType(second.responses[0], 'range').kvs[0]?.text()).toBe('done');
    expect(await etcd.client.get('txn/nest/second-success')).toBeUndefined();

    expect(await etcd.client.getString('txn/nest/inner-failure')).toBe('good');
    expect(await etcd.client.get('txn/nest/inner-success')).toBeUndefined();
    const outer = await etcd.client.get('txn/nest/outer');
    const innerKv = await etcd.client.get('txn/nest/inner-failure');
    expect(innerKv?.modRevision).toBe(outer?.modRevision);
    expect(outer?.modRevision).toBe(r.header.revision);
  });

  test('the failure branch of the outer txn can nest too', async () => {
    const r = await etcd.client
      .txn()
      .if(compare.exists('txn/nest2/none'))
      .failure(op.txn(txn().success(op.put('txn/nest2/k', 'v'))))
      .commit();
    expect(r.succeeded).toBe(false);
    const inner = expectType(r.responses[0], 'txn');
    expect(inner.succeeded).toBe(true);
    expect(expectType(inner.responses[0], 'put').header.revision).toBe(r.header.revision);
    expect(await etcd.client.getString('txn/nest2/k')).toBe('v');
  });
});

describe('txn as a lock-free update', () => {
  test('compare-and-swap on mod revision: the second writer with a stale revision loses', async () => {
    await etcd.client.put('txn/cas/k', '0');
    const seen = (await etcd.client.get('txn/cas/k'))!;
    const cas = (v: string) =>
      etcd.client
        .txn()
        .if(compare.modRevision('txn/cas/k', '==', seen.modRevision))
        .success(op.put('txn/cas/k', v))
        .commit();
    const first = await cas('A');
    const second = await cas('B');
    expect(first.succeeded).toBe(true);
    expect(second.succeeded).toBe(false);
    expect(await etcd.client.getString('txn/cas/k')).toBe('A');
    // etcdctl's txn agrees about the same compare.
    const ctl = await etcd.cluster.etcdctl(['txn'], {
      input: `mod("txn/cas/k") = "${seen.modRevision}"\n\nput txn/cas/k C\n\nput txn/cas/ctl-failed yes\n\n`,
      check: true,
    });
    expect(ctl.stdout.split('\n')[0]).toBe('FAILURE');
    expect(await etcd.client.getString('txn/cas/ctl-failed')).toBe('yes');
  });
});
