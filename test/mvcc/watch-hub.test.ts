/** Watch hub rules: synced delivery, catch-up in bounded batches, compaction cancel, filters, progress, fragments, backpressure. */
import type { WatchResponse } from '../../src/gen/etcdserverpb/rpc.js';
import { WatchCreateRequest_FilterType } from '../../src/gen/etcdserverpb/rpc.js';
import { StateMachine, type WatchSink } from '../../src/mvcc/index.js';
import { b, del, opPut, put, txn, watchReq } from './helpers.js';

function collector(accept: () => boolean = () => true): WatchSink & { got: WatchResponse[] } {
  const got: WatchResponse[] = [];
  return {
    got,
    send(r) {
      if (!accept()) return false;
      got.push(r);
      return true;
    },
  };
}
const keysOf = (rs: WatchResponse[]) => rs.map((r) => r.events.map((e) => e.kv!.key.toString()));

test('a synced watcher gets one response per revision, with every event of a txn together', () => {
  const sm = new StateMachine();
  const s = collector();
  const w = sm.watches.watch(5n, watchReq('k', { rangeEnd: b('l') }), s);
  expect(w.synced).toBe(true);
  sm.put(put('k1', 'a'));
  sm.put(put('zz', 'outside'));
  sm.txn(txn([], [opPut('k2', 'b'), opPut('k3', 'c'), opPut('a', 'outside')]));
  expect(keysOf(s.got)).toEqual([['k1'], ['k2', 'k3']]);
  expect(s.got.map((r) => r.watchId)).toEqual([5n, 5n]);
  expect(s.got[1]!.header!.revision).toBe(4n);
  sm.watches.cancel(w);
  sm.put(put('k4', 'd'));
  expect(s.got).toHaveLength(2);
});

test('a watcher from the past catches up in batches of at most batchMaxRevs revisions, then goes live', () => {
  const sm = new StateMachine({ batchMaxRevs: 3 });
  for (let i = 0; i < 10; i++) sm.put(put(`k${i}`, 'v')); // revisions 2..11
  const s = collector();
  const w = sm.watches.watch(1n, watchReq('k', { rangeEnd: b('l'), startRevision: 3n }), s);
  expect(w.synced).toBe(false);
  expect(sm.watches.sync()).toBe(1);
  expect(s.got).toHaveLength(1);
  expect(s.got[0]!.events.map((e) => Number(e.kv!.modRevision))).toEqual([3, 4, 5]);
  while (sm.watches.sync() > 0);
  expect(w.synced).toBe(true);
  expect(s.got.map((r) => r.events.length)).toEqual([3, 3, 3]);
  sm.put(put('k99', 'live'));
  expect(s.got[3]!.events[0]!.kv!.modRevision).toBe(12n);
});

test('a watcher whose start was compacted is cancelled with the compact revision', () => {
  const sm = new StateMachine();
  for (let i = 0; i < 5; i++) sm.put(put('k', `${i}`));
  sm.compact({ revision: 4n, physical: true });
  const s = collector();
  sm.watches.watch(2n, watchReq('k', { startRevision: 2n }), s);
  sm.watches.sync();
  expect(s.got).toHaveLength(1);
  expect(s.got[0]).toMatchObject({ watchId: 2n, canceled: true, compactRevision: 4n, events: [] });
  expect(sm.watches.size).toBe(0);
  // Starting exactly at the compact revision is allowed.
  const ok = collector();
  sm.watches.watch(3n, watchReq('k', { startRevision: 4n }), ok);
  while (sm.watches.sync() > 0);
  expect(ok.got.flatMap((r) => r.events.map((e) => Number(e.kv!.modRevision)))).toEqual([4, 5, 6]);
});

test('prev_kv and the NOPUT / NODELETE filters', () => {
  const sm = new StateMachine();
  const withPrev = collector();
  const noPut = collector();
  const noDelete = collector();
  sm.watches.watch(1n, watchReq('k', { prevKv: true }), withPrev);
  sm.watches.watch(2n, watchReq('k', { filters: [WatchCreateRequest_FilterType.NOPUT] }), noPut);
  sm.watches.watch(3n, watchReq('k', { filters: [WatchCreateRequest_FilterType.NODELETE] }), noDelete);
  sm.put(put('k', 'one'));
  sm.put(put('k', 'two'));
  sm.deleteRange(del('k'));
  expect(withPrev.got.map((r) => r.events[0]!.prevKv?.value.toString())).toEqual([undefined, 'one', 'two']);
  expect(withPrev.got[2]!.events[0]!.kv).toMatchObject({
    key: b('k'),
    modRevision: 4n,
    version: 0n,
    createRevision: 0n,
  });
  expect(noPut.got.map((r) => r.events[0]!.type)).toEqual([1]);
  expect(noDelete.got.map((r) => r.events.length)).toEqual([1, 1]);
});

test('a future start revision delivers nothing before it', () => {
  const sm = new StateMachine();
  const s = collector();
  sm.watches.watch(1n, watchReq('k', { startRevision: 4n }), s);
  sm.put(put('k', '2'));
  sm.put(put('k', '3'));
  sm.put(put('k', '4'));
  expect(s.got.map((r) => r.events[0]!.kv!.modRevision)).toEqual([4n]);
});

test('progress notifications go to synced watchers that asked and had no events since the last round', () => {
  const sm = new StateMachine();
  const quiet = collector();
  const busy = collector();
  const notAsked = collector();
  sm.watches.watch(1n, watchReq('q', { progressNotify: true }), quiet);
  sm.watches.watch(2n, watchReq('b', { progressNotify: true }), busy);
  sm.watches.watch(3n, watchReq('q'), notAsked);
  sm.put(put('b', 'x'));
  sm.watches.progressNotify();
  expect(quiet.got).toEqual([
    expect.objectContaining({ watchId: 1n, events: [], header: expect.objectContaining({ revision: 2n }) }),
  ]);
  expect(busy.got).toHaveLength(1); // only its event
  expect(notAsked.got).toHaveLength(0);
  sm.watches.progressNotify();
  expect(busy.got).toHaveLength(2);
});

test('a large revision is fragmented only for a watcher that asked for fragments', () => {
  const sm = new StateMachine({ fragmentBytes: 1000 });
  const frag = collector();
  const whole = collector();
  sm.watches.watch(1n, watchReq('k', { rangeEnd: b('l'), fragment: true }), frag);
  sm.watches.watch(2n, watchReq('k', { rangeEnd: b('l') }), whole);
  sm.txn(
    txn(
      [],
      Array.from({ length: 10 }, (_, i) => opPut(`k${i}`, 'x'.repeat(300))),
    ),
  );
  expect(whole.got).toHaveLength(1);
  expect(whole.got[0]!.events).toHaveLength(10);
  expect(frag.got.length).toBeGreaterThan(1);
  expect(frag.got.map((r) => r.fragment)).toEqual([...Array(frag.got.length - 1).fill(true), false]);
  expect(frag.got.flatMap((r) => r.events.map((e) => e.kv!.key.toString()))).toEqual(
    Array.from({ length: 10 }, (_, i) => `k${i}`),
  );
});

test('a backed-up sink makes the watcher fall behind and replay from where it stopped, nothing lost or repeated', () => {
  const sm = new StateMachine();
  let open = true;
  const s = collector(() => open);
  const w = sm.watches.watch(1n, watchReq('k'), s);
  sm.put(put('k', '1'));
  open = false;
  sm.put(put('k', '2'));
  sm.put(put('k', '3'));
  expect(w.synced).toBe(false);
  open = true;
  while (sm.watches.sync() > 0);
  sm.put(put('k', '4'));
  expect(s.got.flatMap((r) => r.events.map((e) => e.kv!.value.toString()))).toEqual(['1', '2', '3', '4']);
  expect(w.synced).toBe(true);
});
