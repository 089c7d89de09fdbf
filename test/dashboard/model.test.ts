/**
 * The dashboard's model: key layouts decoded into locks, elections, services and flags, values
 * shown three ways, latency percentiles from Prometheus histograms. Pure functions, plain data.
 */
import { histogram, p99Between } from '../../src/dashboard/model/cluster.js';
import type { Entry } from '../../src/dashboard/model/entry.js';
import { flagViews } from '../../src/dashboard/model/flags.js';
import { valueView } from '../../src/dashboard/model/keys.js';
import { elections, locks } from '../../src/dashboard/model/locks.js';
import { serviceEvent, services } from '../../src/dashboard/model/services.js';

let rev = 0n;
/** A key written at the next revision. */
function kv(key: string, value = '', lease = 0n): Entry {
  rev += 1n;
  return { key, value, lease, createRevision: rev, modRevision: rev, version: 1n };
}
beforeEach(() => {
  rev = 0n;
});

describe('locks', () => {
  test('a mutex: the oldest key on its own lease holds, with its create revision as fencing token', () => {
    const waiter = kv('jobs/nightly/2b', '', 0x2bn);
    const holder = { ...kv('jobs/nightly/1a', '', 0x1an), createRevision: 0n };
    const [l] = locks([waiter, holder]);
    expect(l).toMatchObject({ kind: 'mutex', name: 'jobs/nightly', fencingToken: '0' });
    expect(l!.kind === 'mutex' && l.holder.key).toBe('jobs/nightly/1a');
    expect(l!.kind === 'mutex' && l.waiters.map((w) => w.key)).toEqual(['jobs/nightly/2b']);
  });

  test('a key whose hex is not its own lease is no lock contender', () => {
    expect(locks([kv('a/1a', '', 0x1bn), kv('b/1a')])).toEqual([]);
  });

  test('candidates with values are an election, not a lock; the oldest leads', () => {
    const entries = [kv('el/3', 'alice', 3n), kv('el/4', 'bob', 4n), kv('mu/5', '', 5n)];
    expect(locks(entries).map((l) => l.name)).toEqual(['mu']);
    const [e] = elections(entries);
    expect(e).toMatchObject({ name: 'el', leader: { value: 'alice', lease: '3', createRevision: '1' } });
    expect(e!.candidates.map((c) => c.value)).toEqual(['bob']);
  });

  test('an rwlock: readers ahead of the first writer hold together, the rest wait', () => {
    const [l] = locks([
      kv('rw/read/a-000000000001', '', 1n),
      kv('rw/read/b-000000000002', '', 2n),
      kv('rw/write/c-000000000003', '', 3n),
      kv('rw/read/d-000000000004', '', 4n),
    ]);
    expect(l!.kind).toBe('rwlock');
    if (l!.kind !== 'rwlock') return;
    expect(l.holders.map((h) => h.mode)).toEqual(['read', 'read']);
    expect(l.waiters.map((h) => h.mode)).toEqual(['write', 'read']);
    expect(l.fencingToken).toBe('1');
  });

  test('an rwlock whose oldest key is a writer: that writer alone holds', () => {
    const [l] = locks([kv('rw/write/c-1', '', 3n), kv('rw/read/d-2', '', 4n)]);
    expect(l!.kind === 'rwlock' && l.holders.map((h) => h.key)).toEqual(['rw/write/c-1']);
  });

  test('a semaphore: the limit key, then the `limit` oldest permits hold', () => {
    const [s] = locks([
      kv('pool', '2'),
      kv('pool/a-0123456789ab', '', 0xan),
      kv('pool/b-0123456789ab', 'held', 0xbn),
      kv('pool/c-0123456789ab', '', 0xcn),
    ]);
    expect(s).toMatchObject({ kind: 'semaphore', name: 'pool', limit: 2 });
    expect(s!.kind === 'semaphore' && s.waiters.map((w) => w.lease)).toEqual(['c']);
  });

  test('permit-shaped keys without a limit key are no semaphore', () => {
    expect(locks([kv('x/a-0123456789ab', '', 0xan)])).toEqual([]);
  });
});

describe('services', () => {
  test('instances are read from their JSON documents; other keys are listed as invalid', () => {
    const [s] = services(
      [
        kv('services/api/i1', JSON.stringify({ id: 'i1', address: '10.0.0.1:80', meta: { zone: 'a' } }), 7n),
        kv('services/api/junk', 'not json'),
        kv('services/nested/a/b', '{}'),
        kv('other/api/i2', JSON.stringify({ id: 'i2', address: 'x' })),
      ],
      'services/',
    );
    expect(s).toMatchObject({ name: 'api', invalid: ['services/api/junk'] });
    expect(s!.instances).toEqual([
      expect.objectContaining({ id: 'i1', address: '10.0.0.1:80', meta: { zone: 'a' }, lease: '7' }),
    ]);
  });

  test('a first put is a join, a later one an update, a delete a leave', () => {
    const at = 1;
    const ev = (type: 'put' | 'delete', version: bigint) =>
      serviceEvent('services/', { type, key: 'services/api/i1', version, revision: 9n }, at)?.type;
    expect([ev('put', 1n), ev('put', 2n), ev('delete', 0n)]).toEqual(['join', 'update', 'leave']);
    expect(
      serviceEvent('services/', { type: 'put', key: 'flags/x', version: 1n, revision: 1n }, at),
    ).toBeUndefined();
  });
});

describe('flags', () => {
  test("a document is judged by the recipe's validation", () => {
    const views = flagViews(
      [
        kv('flags/good', JSON.stringify({ type: 'boolean', value: true })),
        kv('flags/bad', JSON.stringify({ type: 'boolean', value: 'yes' })),
        kv('flags/text', '{'),
      ],
      'flags/',
    );
    expect(views.map((f) => [f.name, f.problems.length > 0])).toEqual([
      ['bad', true],
      ['good', false],
      ['text', true],
    ]);
    expect(views.find((f) => f.name === 'text')!.problems[0]).toMatch(/^not JSON/);
  });
});

describe('values', () => {
  test('JSON is pretty-printed, text kept, bytes in hex', () => {
    expect(valueView(Buffer.from('{"a":1}'))).toEqual({
      text: '{"a":1}',
      json: '{\n  "a": 1\n}',
      hex: '7b 22 61 22 3a 31 7d',
    });
    expect(valueView(Buffer.from([0xff, 0x00]))).toEqual({ text: undefined, json: undefined, hex: 'ff 00' });
  });
});

describe('metrics', () => {
  const text = (counts: number[]) =>
    ['0.001', '0.01', '0.1', '+Inf']
      .map((le, i) => `etcd_disk_wal_fsync_duration_seconds_bucket{le="${le}"} ${counts[i]}`)
      .join('\n');

  test('the p99 between two reads is the bound of the bucket reaching 99% of the new counts', () => {
    const before = histogram(text([10, 10, 10, 10]), 'etcd_disk_wal_fsync_duration_seconds');
    const after = histogram(text([10, 100, 110, 110]), 'etcd_disk_wal_fsync_duration_seconds');
    expect(after.map((b) => b.le)).toEqual([0.001, 0.01, 0.1, Number.POSITIVE_INFINITY]);
    expect(p99Between(before, after)).toBe(0.1);
    expect(p99Between(after, after)).toBeUndefined();
  });
});

describe('flag fallbacks', () => {
  test('what a flag serves when no rule matches: its value, default variant or split', () => {
    const views = flagViews(
      [
        kv('flags/value', JSON.stringify({ type: 'string', value: 'a' })),
        kv(
          'flags/variant',
          JSON.stringify({ type: 'string', variants: { x: 'X', y: 'Y' }, defaultVariant: 'y' }),
        ),
        kv(
          'flags/split',
          JSON.stringify({ type: 'string', variants: { x: 'X', y: 'Y' }, split: { x: 50, y: 50 } }),
        ),
      ],
      'flags/',
    );
    expect(Object.fromEntries(views.map((f) => [f.name, f.fallback]))).toEqual({
      value: '"a"',
      variant: 'y = "Y"',
      split: 'split {"x":50,"y":50}',
    });
  });
});
