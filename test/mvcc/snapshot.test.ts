/** Snapshot → restore: identical state and hash, any chunking, a point-in-time view, corruption detected. */
import {
  checkedSnapshot,
  restore,
  restoreSync,
  SnapshotFormatError,
  StateMachine,
  snapshot,
} from '../../src/mvcc/index.js';
import { b, del, put, range, watchReq } from './helpers.js';

const all = range('\0', { rangeEnd: b('\0') });

function populated(): StateMachine {
  const sm = new StateMachine({ minLeaseTtlSeconds: 1 });
  let i = 0;
  sm.apply(++i, { leaseGrant: { ID: 42n, TTL: 60n } });
  for (let k = 0; k < 300; k++)
    sm.apply(++i, {
      put: put(`key/${k % 120}`, `v${k}\xff`.repeat(k % 7), { lease: k % 5 === 0 ? 42n : 0n }),
    });
  sm.apply(++i, { deleteRange: del('key/1', { rangeEnd: b('key/2') }) });
  sm.apply(++i, { compaction: { revision: 150n, physical: false } });
  sm.apply(++i, { leaseCheckpoint: { checkpoints: [{ ID: 42n, remainingTTL: 33n }] } });
  sm.apply(++i, { leaseGrant: { ID: 0n, TTL: 5n } });
  return sm;
}

function rechunk(chunks: Iterable<Uint8Array>, size: number): Uint8Array[] {
  const whole = Buffer.concat([...chunks]);
  const out: Uint8Array[] = [];
  for (let o = 0; o < whole.length; o += size) out.push(whole.subarray(o, o + size));
  return out;
}

test('restore gives the same hash, ranges, leases, applied index and ID generator', async () => {
  for (const size of [1, 7, 4096]) {
    const sm = populated();
    const r = await restore(
      (async function* () {
        yield* rechunk(snapshot(sm), size);
      })(),
      { minLeaseTtlSeconds: 1 },
    );
    expect(r.hashKV(0)).toEqual(sm.hashKV(0));
    expect(r.range(all)).toEqual(sm.range(all));
    expect(r.appliedIndex).toBe(sm.appliedIndex);
    expect(r.compactRevision).toBe(150);
    expect(r.kv.sizeBytes).toBe(sm.kv.sizeBytes);
    expect(r.lessor.get(42n)!.remainingTTL).toBe(33);
    expect([...r.lessor.get(42n)!.keys].sort()).toEqual([...sm.lessor.get(42n)!.keys].sort());
    // Both continue identically: the next ID chosen and a revoke's deletes.
    expect(r.leaseGrant({ ID: 0n, TTL: 5n }).ID).toBe(sm.leaseGrant({ ID: 0n, TTL: 5n }).ID);
    r.leaseRevoke({ ID: 42n });
    sm.leaseRevoke({ ID: 42n });
    expect(r.hashKV(0)).toEqual(sm.hashKV(0));
    // History survives too: a watcher from the compact revision replays the same events.
    const events = (m: StateMachine) => {
      const got: string[] = [];
      m.watches.watch(1n, watchReq('\0', { rangeEnd: b('\0'), startRevision: 150n, prevKv: true }), {
        send: (resp) => {
          for (const e of resp.events)
            got.push(`${e.type}:${e.kv!.key}:${e.kv!.modRevision}:${e.prevKv?.modRevision}`);
          return true;
        },
      });
      while (m.watches.sync() > 0);
      return got;
    };
    expect(events(r)).toEqual(events(sm));
  }
});

test('a snapshot is the state when it was taken, even if applies continue while it streams', () => {
  const sm = populated();
  const hash = sm.hashKV(0);
  const rev = sm.revision;
  const iter = snapshot(sm)[Symbol.iterator]();
  const chunks: Uint8Array[] = [iter.next().value as Uint8Array];
  sm.put(put('key/5', 'changed'));
  sm.deleteRange(del('\0', { rangeEnd: b('\0') }));
  sm.compact({ revision: BigInt(sm.revision), physical: true });
  for (let n = iter.next(); !n.done; n = iter.next()) chunks.push(n.value);
  const r = restoreSync(chunks, { minLeaseTtlSeconds: 1 });
  expect(r.revision).toBe(rev);
  expect(r.hashKV(0)).toEqual(hash);
});

test('a truncated or corrupted snapshot is refused', () => {
  const sm = populated();
  const whole = Buffer.concat([...snapshot(sm)]);
  expect(() => restoreSync([whole.subarray(0, whole.length - 3)])).toThrow(SnapshotFormatError);
  const bad = Buffer.from(whole);
  bad[Math.floor(bad.length / 2)]! ^= 0x01;
  expect(() => restoreSync([bad])).toThrow(SnapshotFormatError);
  expect(() => restoreSync([Buffer.from('not a snapshot at all')])).toThrow('wrong magic');
});

test('chunks stay near the chunk size (bounded memory while streaming)', () => {
  const sm = new StateMachine();
  for (let k = 0; k < 5000; k++) sm.put(put(`k${k}`, 'x'.repeat(200)));
  const sizes = [...snapshot(sm)].map((c) => c.length);
  expect(sizes.length).toBeGreaterThan(3);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);
});

test('alignTo pads the stream to a multiple and restores the same state', () => {
  const sm = populated();
  const plain = Buffer.concat([...snapshot(sm)]);
  for (const align of [512, 4096]) {
    const padded = Buffer.concat([...snapshot(sm, { alignTo: align })]);
    expect(padded.length % align).toBe(0);
    expect(padded.length).toBeGreaterThan(plain.length);
    expect(restoreSync([padded]).hashKV(0).hash).toBe(sm.hashKV(0).hash);
  }
  // The smallest stream (header and end record only) pads too.
  const empty = new StateMachine();
  const e = Buffer.concat([...snapshot(empty, { alignTo: 512 })]);
  expect(e.length % 512).toBe(0);
  expect(restoreSync([e]).kv.currentRev).toBe(empty.kv.currentRev);
});

test('checkedSnapshot passes a whole stream through unchanged and fails one cut anywhere', async () => {
  const whole = Buffer.concat([...snapshot(populated())].map((c) => Buffer.from(c)));
  const through: Buffer[] = [];
  for await (const c of checkedSnapshot([whole.subarray(0, 7), whole.subarray(7)]))
    through.push(Buffer.from(c));
  expect(Buffer.concat(through).equals(whole)).toBe(true);
  // Every cut short of the end record's last byte (a sample: the stream is large).
  for (let cut = 0; cut < whole.length; cut += cut < 64 || cut > whole.length - 64 ? 1 : 997) {
    const drain = async () => {
      for await (const _ of checkedSnapshot([whole.subarray(0, cut)])) {
      }
    };
    await expect(drain()).rejects.toThrow(SnapshotFormatError);
  }
});
