/**
 * KV against a real etcd (one member): put/get/range/delete with every option, checked against
 * etcdctl where that adds something, and compaction last (it makes older revisions unreadable).
 */

import { ROOT } from '../../src/client/keyspace.js';
import { rangeRequest } from '../../src/client/kv.js';
import {
  type Client,
  CompactedError,
  EtcdError,
  FutureRevisionError,
  InvalidArgumentError,
} from '../../src/index.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'compat-kv' });

const text = (kvs: { key: Buffer }[]): string[] => kvs.map((kv) => kv.key.toString('utf8'));

/** etcdctl's JSON output: keys and values in base64, numbers as JSON numbers. */
interface CtlJson {
  header: { revision: number };
  kvs?: { key: string; value?: string; version: number; lease?: number }[];
  count?: number;
}
async function ctlJson(args: string[]): Promise<CtlJson> {
  const r = await etcd.cluster.etcdctl([...args, '-w', 'json'], { check: true });
  return JSON.parse(r.stdout) as CtlJson;
}
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

describe('put and get', () => {
  test('string, Buffer and Uint8Array values round-trip byte for byte', async () => {
    await etcd.client.put('kv/val/str', 'héllo ✓');
    await etcd.client.put('kv/val/buf', Buffer.from([0x00, 0xff, 0x80, 0x41]));
    await etcd.client.put('kv/val/u8', new Uint8Array([1, 2, 3, 0xfe]));
    // A Uint8Array view into a bigger buffer: only the viewed bytes are sent.
    const big = new Uint8Array([9, 9, 7, 8, 9, 9]);
    await etcd.client.put('kv/val/view', big.subarray(2, 4));

    const str = await etcd.client.get('kv/val/str');
    expect(str?.value).toEqual(Buffer.from('héllo ✓', 'utf8'));
    expect(str?.text()).toBe('héllo ✓');
    expect(str?.keyText()).toBe('kv/val/str');
    expect(Buffer.isBuffer(str?.value)).toBe(true);
    expect(await etcd.client.getString('kv/val/str')).toBe('héllo ✓');
    expect((await etcd.client.get('kv/val/buf'))?.value).toEqual(Buffer.from([0x00, 0xff, 0x80, 0x41]));
    expect((await etcd.client.get('kv/val/u8'))?.value).toEqual(Buffer.from([1, 2, 3, 0xfe]));
    expect((await etcd.client.get('kv/val/view'))?.value).toEqual(Buffer.from([7, 8]));

    // etcdctl sees the same bytes.
    const ctl = await ctlJson(['get', 'kv/val/buf']);
    expect(b64(ctl.kvs![0]!.value!)).toEqual(Buffer.from([0x00, 0xff, 0x80, 0x41]));
    const ctlStr = await etcd.cluster.etcdctl(['get', 'kv/val/str', '--print-value-only'], { check: true });
    expect(ctlStr.stdout).toBe('héllo ✓\n');
  });

  test('putJSON / getJSON / kv.json()', async () => {
    const doc = { a: 1, b: [true, null, 'x'], c: { d: 'é' } };
    await etcd.client.putJSON('kv/json/doc', doc);
    expect(await etcd.client.getJSON('kv/json/doc')).toEqual(doc);
    expect((await etcd.client.get('kv/json/doc'))?.json()).toEqual(doc);
    expect(await etcd.client.getString('kv/json/doc')).toBe(JSON.stringify(doc));
    await etcd.client.putJSON('kv/json/num', 42);
    expect(await etcd.client.getJSON<number>('kv/json/num')).toBe(42);
  });

  test('a missing key reads as undefined', async () => {
    expect(await etcd.client.get('kv/missing/nope')).toBeUndefined();
    expect(await etcd.client.getString('kv/missing/nope')).toBeUndefined();
    expect(await etcd.client.getJSON('kv/missing/nope')).toBeUndefined();
    const r = await etcd.client.range('kv/missing/nope');
    expect(r.kvs).toEqual([]);
    expect(r.count).toBe(0n);
    expect(r.more).toBe(false);
  });

  test('binary keys (non-UTF-8, 0xff) round-trip and match etcdctl', async () => {
    const pfx = Buffer.from('kv/bin/');
    const k1 = Buffer.concat([pfx, Buffer.from([0xff, 0xfe, 0x80, 0x00])]);
    const k2 = Buffer.concat([pfx, Buffer.from([0xff, 0xff])]);
    const k3 = Buffer.concat([pfx, Buffer.from([0xc3, 0x28])]); // invalid UTF-8
    await etcd.client.put(k1, 'one');
    await etcd.client.put(k2, 'two');
    await etcd.client.put(new Uint8Array(k3), 'three');
    expect((await etcd.client.get(k1))?.key).toEqual(k1);
    expect(await etcd.client.getString(k2)).toBe('two');
    expect(await etcd.client.getString(k3)).toBe('three');
    // The UTF-8 "replacement" of k1 is a different key.
    expect(await etcd.client.get(k1.toString('utf8'))).toBeUndefined();

    // A prefix that ends in 0xff: the range end must carry into the byte before.
    const ffPrefix = Buffer.concat([pfx, Buffer.from([0xff])]);
    const r = await etcd.client.range({ prefix: ffPrefix });
    expect(r.kvs.map((kv) => kv.key)).toEqual([k1, k2]);

    const all = await etcd.client.range({ prefix: pfx });
    expect(all.kvs.map((kv) => kv.key)).toEqual([k3, k1, k2]);

    const ctl = await ctlJson(['get', 'kv/bin/', '--prefix']);
    expect(ctl.kvs!.map((kv) => b64(kv.key))).toEqual([k3, k1, k2]);
    expect(ctl.kvs!.map((kv) => b64(kv.value!).toString())).toEqual(['three', 'one', 'two']);
  });

  test('a key written by etcdctl is read by the SDK, and the other way round', async () => {
    await etcd.cluster.etcdctl(['put', 'kv/ctl/from-etcdctl', 'written by etcdctl'], { check: true });
    const kv = await etcd.client.get('kv/ctl/from-etcdctl');
    expect(kv?.text()).toBe('written by etcdctl');
    expect(kv?.version).toBe(1n);

    const put = await etcd.client.put('kv/ctl/from-sdk', 'written by the SDK');
    const ctl = await ctlJson(['get', 'kv/ctl/from-sdk']);
    expect(b64(ctl.kvs![0]!.value!).toString()).toBe('written by the SDK');
    expect(BigInt(ctl.header.revision)).toBeGreaterThanOrEqual(put.header.revision);
  });
});

describe('range', () => {
  const P = 'kv/range/';
  beforeAll(async () => {
    for (const k of ['a', 'b', 'c', 'd', 'e']) await etcd.client.put(`${P}${k}`, `v-${k}`);
    // Neighbours that a correct prefix range must leave out.
    await etcd.client.put('kv/range', 'no slash');
    await etcd.client.put('kv/range0', 'after the prefix');
  });

  test('a single key', async () => {
    const r = await etcd.client.range(`${P}c`);
    expect(text(r.kvs)).toEqual([`${P}c`]);
    expect(r.kvs[0]!.text()).toBe('v-c');
    expect(r.count).toBe(1n);
  });

  test('{ prefix } covers exactly the prefix', async () => {
    const r = await etcd.client.range({ prefix: P });
    expect(text(r.kvs)).toEqual(['a', 'b', 'c', 'd', 'e'].map((k) => `${P}${k}`));
    expect(r.count).toBe(5n);
    expect(r.more).toBe(false);
  });

  test('{ prefix: \'\' } is every key, as etcdctl get "" --prefix --keys-only says', async () => {
    const r = await etcd.client.range({ prefix: '' }, { keysOnly: true });
    const ctl = await etcd.cluster.etcdctl(['get', '', '--prefix', '--keys-only', '-w', 'json'], {
      check: true,
    });
    const parsed = JSON.parse(ctl.stdout) as CtlJson;
    // Nothing is written between the two reads, so they see the same store.
    expect(r.header.revision).toBe(BigInt(parsed.header.revision));
    expect(r.kvs.map((kv) => kv.key)).toEqual(parsed.kvs!.map((kv) => b64(kv.key)));
    expect(r.count).toBe(BigInt(parsed.count!));
    expect(r.kvs.length).toBeGreaterThan(10);
    // The plain-text listing agrees too (for the printable keys).
    const plain = await etcd.cluster.etcdctl(['get', '', '--prefix', '--keys-only'], { check: true });
    const lines = plain.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toContain(`${P}a`);
    expect(lines).toContain('kv/range0');
    expect(lines.length).toBe(r.kvs.length);
  });

  test('{ fromKey } is every key from it on', async () => {
    const r = await etcd.client.range({ fromKey: `${P}c` });
    const keys = text(r.kvs);
    expect(keys.slice(0, 3)).toEqual([`${P}c`, `${P}d`, `${P}e`]);
    expect(keys).toContain('kv/range0');
    expect(keys).not.toContain(`${P}b`);
    expect(r.kvs.every((kv) => Buffer.compare(kv.key, Buffer.from(`${P}c`)) >= 0)).toBe(true);
    const ctl = await ctlJson(['get', `${P}c`, '--from-key', '--keys-only']);
    expect(r.kvs.map((kv) => kv.key)).toEqual(ctl.kvs!.map((kv) => b64(kv.key)));
  });

  test('{ key, end } is the half-open interval', async () => {
    const r = await etcd.client.range({ key: `${P}b`, end: `${P}d` });
    expect(text(r.kvs)).toEqual([`${P}b`, `${P}c`]);
    // Without an end it is the single key.
    expect(text((await etcd.client.range({ key: `${P}b` })).kvs)).toEqual([`${P}b`]);
    // An end of "\0" means "to the end of the keyspace".
    const toEnd = await etcd.client.range({ key: `${P}d`, end: '\0' });
    expect(text(toEnd.kvs).slice(0, 2)).toEqual([`${P}d`, `${P}e`]);
    expect(text(toEnd.kvs)).toContain('kv/range0');
  });

  test('limit: more and count', async () => {
    const r = await etcd.client.range({ prefix: P }, { limit: 2 });
    expect(text(r.kvs)).toEqual([`${P}a`, `${P}b`]);
    expect(r.more).toBe(true);
    expect(r.count).toBe(5n);
    const exact = await etcd.client.range({ prefix: P }, { limit: 5n });
    expect(exact.kvs).toHaveLength(5);
    expect(exact.more).toBe(false);
    expect(exact.count).toBe(5n);
  });

  test('keysOnly leaves values empty', async () => {
    const r = await etcd.client.range({ prefix: P }, { keysOnly: true });
    expect(text(r.kvs)).toEqual(['a', 'b', 'c', 'd', 'e'].map((k) => `${P}${k}`));
    for (const kv of r.kvs) {
      expect(kv.value.length).toBe(0);
      expect(kv.version).toBe(1n);
    }
  });

  test('countOnly returns no kvs and the right count; count() too', async () => {
    const r = await etcd.client.range({ prefix: P }, { countOnly: true });
    expect(r.kvs).toEqual([]);
    expect(r.count).toBe(5n);
    expect(await etcd.client.count({ prefix: P })).toBe(5n);
    expect(await etcd.client.count({ key: `${P}a`, end: `${P}c` })).toBe(2n);
    expect(await etcd.client.count('kv/range/none')).toBe(0n);
  });

  test('a historical read (revision) returns the old value', async () => {
    const first = await etcd.client.put('kv/hist/k', 'old');
    await etcd.client.put('kv/hist/k', 'new');
    expect(await etcd.client.getString('kv/hist/k')).toBe('new');
    const old = await etcd.client.get('kv/hist/k', { revision: first.header.revision });
    expect(old?.text()).toBe('old');
    expect(old?.modRevision).toBe(first.header.revision);
    // Before the key was created it did not exist.
    expect(await etcd.client.get('kv/hist/k', { revision: first.header.revision - 1n })).toBeUndefined();
    // As a number too.
    const r = await etcd.client.range('kv/hist/k', { revision: Number(first.header.revision) });
    expect(r.kvs[0]?.text()).toBe('old');
  });

  test('serializable reads are sent as such and return the data', async () => {
    await etcd.client.put('kv/ser/k', 'v1');
    expect(rangeRequest(ROOT, 'kv/ser/k', { serializable: true }).serializable).toBe(true);
    expect(rangeRequest(ROOT, 'kv/ser/k', {}).serializable).toBe(false);
    // On one member a serializable read has everything that was committed.
    expect(await etcd.client.getString('kv/ser/k', { serializable: true })).toBe('v1');
    const r = await etcd.client.range({ prefix: 'kv/ser/' }, { serializable: true });
    expect(text(r.kvs)).toEqual(['kv/ser/k']);
  });
});

describe('sorting', () => {
  const P = 'kv/sort/';
  // Keys created in the order c, a, d, b, then modified so that every target orders differently.
  beforeAll(async () => {
    await etcd.client.put(`${P}c`, 'y'); // c: create 1st
    await etcd.client.put(`${P}a`, 'z'); // a: create 2nd
    await etcd.client.put(`${P}d`, 'w'); // d: create 3rd
    await etcd.client.put(`${P}b`, 'x'); // b: create 4th
    // Versions: a 3, b 1, c 2, d 4. Last modifications in the order c, a, d (b untouched since creation).
    await etcd.client.put(`${P}d`, 'w');
    await etcd.client.put(`${P}d`, 'w');
    await etcd.client.put(`${P}c`, 'y');
    await etcd.client.put(`${P}a`, 'z');
    await etcd.client.put(`${P}a`, 'z');
    await etcd.client.put(`${P}d`, 'w');
  });

  const order = async (target: 'key' | 'version' | 'create' | 'mod' | 'value', o: 'ascend' | 'descend') =>
    text((await etcd.client.range({ prefix: P }, { sort: { target, order: o } })).kvs).map((k) =>
      k.slice(P.length),
    );

  test.each([
    ['key', ['a', 'b', 'c', 'd']],
    ['version', ['b', 'c', 'a', 'd']],
    ['create', ['c', 'a', 'd', 'b']],
    ['mod', ['b', 'c', 'a', 'd']],
    ['value', ['d', 'b', 'c', 'a']],
  ] as const)('by %s, ascending and descending', async (target, expected) => {
    expect(await order(target, 'ascend')).toEqual(expected);
    expect(await order(target, 'descend')).toEqual([...expected].reverse());
  });

  test('the setup is what the orders assume', async () => {
    const r = await etcd.client.range({ prefix: P });
    const by = Object.fromEntries(r.kvs.map((kv) => [kv.keyText().slice(P.length), kv]));
    expect([by.a!.version, by.b!.version, by.c!.version, by.d!.version]).toEqual([3n, 1n, 2n, 4n]);
    // 'mod' differs from 'version' only if it would: check it is really by mod revision.
    const mods = ['b', 'c', 'a', 'd'].map((k) => by[k]!.modRevision);
    expect([...mods].sort((x, y) => (x < y ? -1 : 1))).toEqual(mods);
  });

  test('sort with limit takes the first after sorting', async () => {
    const r = await etcd.client.range(
      { prefix: P },
      { sort: { target: 'create', order: 'descend' }, limit: 1 },
    );
    expect(text(r.kvs)).toEqual([`${P}b`]);
    expect(r.more).toBe(true);
  });

  test('an unknown sort target is rejected before sending', async () => {
    await expect(
      etcd.client.range({ prefix: P }, { sort: { target: 'size' as unknown as 'key' } }),
    ).rejects.toThrow(TypeError);
  });
});

describe('revision filters', () => {
  const P = 'kv/filter/';
  let revs: Record<string, { create: bigint; mod: bigint }>;
  beforeAll(async () => {
    const a = await etcd.client.put(`${P}a`, '1');
    const b = await etcd.client.put(`${P}b`, '1');
    const c = await etcd.client.put(`${P}c`, '1');
    const a2 = await etcd.client.put(`${P}a`, '2');
    revs = {
      a: { create: a.header.revision, mod: a2.header.revision },
      b: { create: b.header.revision, mod: b.header.revision },
      c: { create: c.header.revision, mod: c.header.revision },
    };
  });

  const keys = async (o: Parameters<Client['range']>[1]) =>
    text((await etcd.client.range({ prefix: P }, o)).kvs).map((k) => k.slice(P.length));

  test('min/max mod revision', async () => {
    expect(await keys({ minModRevision: revs.c!.mod })).toEqual(['a', 'c']);
    expect(await keys({ maxModRevision: revs.b!.mod })).toEqual(['b']);
    expect(await keys({ minModRevision: revs.b!.mod, maxModRevision: revs.c!.mod })).toEqual(['b', 'c']);
  });

  test('min/max create revision', async () => {
    expect(await keys({ minCreateRevision: revs.b!.create })).toEqual(['b', 'c']);
    expect(await keys({ maxCreateRevision: revs.b!.create })).toEqual(['a', 'b']);
    expect(await keys({ minCreateRevision: revs.b!.create, maxCreateRevision: revs.b!.create })).toEqual([
      'b',
    ]);
  });
});

describe('put options', () => {
  test('header: revision increases, member and cluster ids are set (and match etcd)', async () => {
    const a = await etcd.client.put('kv/hdr/a', '1');
    const b = await etcd.client.put('kv/hdr/b', '1');
    expect(b.header.revision).toBe(a.header.revision + 1n);
    expect(a.header.memberId).not.toBe(0n);
    expect(a.header.clusterId).not.toBe(0n);
    expect(a.header.raftTerm).toBeGreaterThan(0n);
    // The member id is a uint64: it must not come back negative or rounded.
    expect(a.header.memberId).toBe(BigInt(etcd.cluster.members[0]!.id!));
    const status = await etcd.cluster.etcdctl(['endpoint', 'status', '-w', 'json'], { check: true });
    const clusterId = /"cluster_id":(\d+)/.exec(status.stdout)?.[1];
    expect(a.header.clusterId).toBe(BigInt(clusterId!));
    const kv = await etcd.client.get('kv/hdr/a');
    expect(kv?.createRevision).toBe(a.header.revision);
    expect(kv?.modRevision).toBe(a.header.revision);
  });

  test('prevKv returns the previous key-value, undefined for a new key', async () => {
    const first = await etcd.client.put('kv/prev/k', 'one', { prevKv: true });
    expect(first.prevKv).toBeUndefined();
    const second = await etcd.client.put('kv/prev/k', 'two', { prevKv: true });
    expect(second.prevKv?.text()).toBe('one');
    expect(second.prevKv?.keyText()).toBe('kv/prev/k');
    expect(second.prevKv?.version).toBe(1n);
    expect(second.prevKv?.modRevision).toBe(first.header.revision);
    const plain = await etcd.client.put('kv/prev/k', 'three');
    expect(plain.prevKv).toBeUndefined();
  });

  test('lease as a Lease or an id; ignoreValue and ignoreLease', async () => {
    const lease = await etcd.client.lease({ ttl: 30 });
    try {
      await etcd.client.put('kv/lease/obj', 'v', { lease });
      await etcd.client.put('kv/lease/id', 'v', { lease: lease.id });
      expect((await etcd.client.get('kv/lease/obj'))?.lease).toBe(lease.id);
      expect((await etcd.client.get('kv/lease/id'))?.lease).toBe(lease.id);
      const ttl = await etcd.client.leaseTimeToLive(lease.id, { keys: true });
      expect(ttl.keys.map((k) => Buffer.from(k).toString()).sort()).toEqual(['kv/lease/id', 'kv/lease/obj']);

      // ignoreValue: attach a lease, keep the value.
      await etcd.client.put('kv/lease/iv', 'keep me');
      const iv = await etcd.client.put('kv/lease/iv', '', { ignoreValue: true, lease, prevKv: true });
      expect(iv.prevKv?.text()).toBe('keep me');
      const ivKv = await etcd.client.get('kv/lease/iv');
      expect(ivKv?.text()).toBe('keep me');
      expect(ivKv?.lease).toBe(lease.id);
      expect(ivKv?.version).toBe(2n);

      // ignoreLease: change the value, keep the lease.
      await etcd.client.put('kv/lease/obj', 'new value', { ignoreLease: true });
      const il = await etcd.client.get('kv/lease/obj');
      expect(il?.text()).toBe('new value');
      expect(il?.lease).toBe(lease.id);
      // A plain put detaches it.
      await etcd.client.put('kv/lease/id', 'v2');
      expect((await etcd.client.get('kv/lease/id'))?.lease).toBe(0n);

      // etcd refuses ignoreValue on a key that does not exist.
      const err = await etcd.client.put('kv/lease/none', '', { ignoreValue: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as EtcdError).message).toBe('etcdserver: key not found');
      expect(await etcd.client.get('kv/lease/none')).toBeUndefined();
    } finally {
      await lease.revoke();
    }
    // Revoking deletes the keys attached to it.
    expect(await etcd.client.get('kv/lease/obj')).toBeUndefined();
    expect(await etcd.client.get('kv/lease/iv')).toBeUndefined();
    expect(await etcd.client.getString('kv/lease/id')).toBe('v2');
  });
});

describe('delete', () => {
  test('a single key', async () => {
    await etcd.client.put('kv/del1/a', '1');
    await etcd.client.put('kv/del1/ab', '1');
    const r = await etcd.client.delete('kv/del1/a');
    expect(r.deleted).toBe(1n);
    expect(r.prevKvs).toEqual([]);
    expect(await etcd.client.get('kv/del1/a')).toBeUndefined();
    expect(await etcd.client.getString('kv/del1/ab')).toBe('1');
    expect((await etcd.client.delete('kv/del1/a')).deleted).toBe(0n);
  });

  test('a prefix with prevKv', async () => {
    await etcd.client.put('kv/del2/x', 'vx');
    await etcd.client.put('kv/del2/y', 'vy');
    await etcd.client.put('kv/del2', 'outside');
    const r = await etcd.client.delete({ prefix: 'kv/del2/' }, { prevKv: true });
    expect(r.deleted).toBe(2n);
    expect(r.prevKvs.map((kv) => [kv.keyText(), kv.text()])).toEqual([
      ['kv/del2/x', 'vx'],
      ['kv/del2/y', 'vy'],
    ]);
    expect(await etcd.client.count({ prefix: 'kv/del2/' })).toBe(0n);
    expect(await etcd.client.getString('kv/del2')).toBe('outside');
    const ctl = await ctlJson(['get', 'kv/del2', '--prefix']);
    expect(ctl.kvs!.map((kv) => b64(kv.key).toString())).toEqual(['kv/del2']);
  });

  test('fromKey and { key, end }', async () => {
    // Keys at the very end of the keyspace, so fromKey deletes only what this test wrote.
    const base = Buffer.from([0xfe, 0xfe]);
    const k = (s: string) => Buffer.concat([base, Buffer.from(s)]);
    for (const s of ['a', 'b', 'c', 'd']) await etcd.client.put(k(s), s);
    const mid = await etcd.client.delete({ key: k('a'), end: k('b') });
    expect(mid.deleted).toBe(1n);
    const r = await etcd.client.delete({ fromKey: k('c') }, { prevKv: true });
    expect(r.deleted).toBe(2n);
    expect(r.prevKvs.map((kv) => kv.key)).toEqual([k('c'), k('d')]);
    expect((await etcd.client.range({ prefix: base })).kvs.map((kv) => kv.key)).toEqual([k('b')]);
  });
});

// Last: compaction makes every older revision unreadable for the rest of this file.
describe('compaction', () => {
  test('a read below the compacted revision throws CompactedError; a future one FutureRevisionError', async () => {
    const v1 = await etcd.client.put('kv/compact/k', 'v1');
    const v2 = await etcd.client.put('kv/compact/k', 'v2');
    expect((await etcd.client.get('kv/compact/k', { revision: v1.header.revision }))?.text()).toBe('v1');

    const h = await etcd.client.compact(v2.header.revision);
    expect(h.revision).toBeGreaterThanOrEqual(v2.header.revision);

    const err = await etcd.client
      .get('kv/compact/k', { revision: v1.header.revision })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompactedError);
    expect(err).toBeInstanceOf(EtcdError);
    expect(err).not.toBeInstanceOf(FutureRevisionError);
    expect((err as CompactedError).code).toBe('compacted');
    expect((err as CompactedError).grpcCode).toBe(11); // OUT_OF_RANGE
    expect((err as CompactedError).message).toBe('etcdserver: mvcc: required revision has been compacted');
    // The compacted revision itself is still readable, and so is the present.
    expect((await etcd.client.get('kv/compact/k', { revision: v2.header.revision }))?.text()).toBe('v2');
    expect(await etcd.client.getString('kv/compact/k')).toBe('v2');

    // etcdctl agrees.
    const ctl = await etcd.cluster.etcdctl(['get', 'kv/compact/k', `--rev=${v1.header.revision}`]);
    expect(ctl.code).not.toBe(0);
    expect(ctl.stderr).toContain('required revision has been compacted');

    const future = await etcd.client
      .get('kv/compact/k', { revision: v2.header.revision + 1000n })
      .catch((e: unknown) => e);
    expect(future).toBeInstanceOf(FutureRevisionError);
    expect(future).not.toBeInstanceOf(CompactedError);
    expect((future as FutureRevisionError).code).toBe('future-revision');
    expect((future as FutureRevisionError).grpcCode).toBe(11);
    expect((future as FutureRevisionError).message).toBe(
      'etcdserver: mvcc: required revision is a future revision',
    );
  });

  test('physical compaction; compacting again at an older revision is refused', async () => {
    const a = await etcd.client.put('kv/compact2/k', 'a');
    const b = await etcd.client.put('kv/compact2/k', 'b');
    await etcd.client.compact(b.header.revision, { physical: true });
    const err = await etcd.client
      .get('kv/compact2/k', { revision: a.header.revision })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompactedError);
    expect(await etcd.client.getString('kv/compact2/k')).toBe('b');

    const again = await etcd.client.compact(a.header.revision).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(CompactedError);
    expect((again as CompactedError).message).toBe('etcdserver: mvcc: required revision has been compacted');

    const tooNew = await etcd.client.compact(b.header.revision + 1000n).catch((e: unknown) => e);
    expect(tooNew).toBeInstanceOf(FutureRevisionError);
  });
});
