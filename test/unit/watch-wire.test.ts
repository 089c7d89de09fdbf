/**
 * Shared watch encoding: a response whose events are an EventBatch shared with other watchers is
 * written as header + watch ID + the batch's bytes, and that must be byte for byte what the
 * generated encoder gives for the same response, for every shape the hub produces (prev_kv,
 * filters, deletes, txns, ranges, fragments, catch-up from history, watch IDs of every size).
 * Sharing must not change who gets what: each watcher still gets its own ID and exactly its
 * events, in revision order, as a watcher computed alone would.
 */
import { WatchCreateRequest_FilterType as Filter, WatchResponse } from '../../src/gen/etcdserverpb/rpc.js';
import { StateMachine, type WatchSink } from '../../src/mvcc/index.js';
import { batchOf } from '../../src/mvcc/kv/watch-batch.js';
import { encodeWatchResponse, watchDefinition } from '../../src/server/api/watch-wire.js';
import { b, del, opDel, opPut, put, txn, watchReq } from '../mvcc/helpers.js';

interface Collected extends WatchSink {
  got: WatchResponse[];
}
function collector(): Collected {
  const got: WatchResponse[] = [];
  return {
    got,
    send(r) {
      got.push(r);
      return true;
    },
  };
}

/** Every shape of watcher, several times each, with IDs from 0 to the largest int64 and a negative one. */
const SHAPES: [string, Parameters<typeof watchReq>[1]][] = [
  ['k', {}],
  ['k', { prevKv: true }],
  ['k', { filters: [Filter.NOPUT] }],
  ['k', { filters: [Filter.NODELETE] }],
  ['k', { rangeEnd: b('l') }],
  ['k', { rangeEnd: b('l'), prevKv: true }],
  ['k', { rangeEnd: b('l'), filters: [Filter.NODELETE], prevKv: true }],
  ['k', { rangeEnd: b('l'), fragment: true }],
  ['k2', {}],
  ['a', { rangeEnd: b('z') }],
];
const IDS = [0n, 1n, 127n, 128n, 300n, 2n ** 40n, 2n ** 63n - 1n, -1n];

/** Writes every kind of change: puts, overwrites, deletes, a txn of several keys, a big revision. */
function writeAll(sm: StateMachine): void {
  sm.put(put('k', 'one'));
  sm.put(put('k', 'two'));
  sm.put(put('k2', 'x'));
  sm.deleteRange(del('k'));
  sm.txn(txn([], [opPut('k', 'three'), opPut('k2', 'y'), opPut('k9', 'z'), opPut('zz', 'outside')]));
  sm.txn(txn([], [opDel('k2'), opPut('k3', 'w')]));
  sm.put(put('k', 'v'.repeat(600)));
  sm.txn(txn([], [opPut('k4', 'a'.repeat(700)), opPut('k5', 'b'.repeat(700))]));
}

interface Watching {
  id: bigint;
  shape: (typeof SHAPES)[number];
  sink: Collected;
}

function watchAll(sm: StateMachine, startRevision?: bigint): Watching[] {
  const out: Watching[] = [];
  for (const shape of SHAPES) {
    for (const id of IDS) {
      const sink = collector();
      const [key, opts] = shape;
      sm.watches.watch(id, watchReq(key, { ...opts, startRevision }), sink);
      out.push({ id: id, shape, sink });
    }
  }
  return out;
}

/** What nice-grpc does with a response of the Watch method: fromPartial, encode, finish. */
function serialize(r: WatchResponse): Buffer {
  const t = watchDefinition.methods.watch.responseType;
  return Buffer.from(t.encode(t.fromPartial(r)).finish());
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function expectSameBytes(responses: WatchResponse[]): number {
  let batched = 0;
  for (const r of responses) {
    const reference = hex(WatchResponse.encode(WatchResponse.fromPartial(r)).finish());
    expect(hex(encodeWatchResponse(r))).toBe(reference);
    expect(hex(serialize(r))).toBe(reference);
    if (batchOf(r)) batched++;
  }
  return batched;
}

/** The events `w` would get from the log alone: its range, its filters, prev_kv or not. */
const eventsOf = (rs: WatchResponse[]) =>
  rs.flatMap((r) =>
    r.events.map((e) => `${e.type}:${e.kv!.key}@${e.kv!.modRevision}:${e.prevKv?.value ?? '-'}`),
  );

test('live fan-out: shared encoding is byte-identical to encoding each response alone', () => {
  const sm = new StateMachine({ fragmentBytes: 1000 });
  const ws = watchAll(sm);
  writeAll(sm);
  const all = ws.flatMap((w) => w.sink.got);
  expect(all.length).toBeGreaterThan(200);
  // Nearly all went through the shared path; fragments and plain responses were checked too.
  expect(expectSameBytes(all)).toBe(all.length);
  expect(all.some((r) => r.fragment)).toBe(true);
});

test('catch-up from history: shared encoding is byte-identical too', () => {
  const sm = new StateMachine({ batchMaxRevs: 2 });
  writeAll(sm);
  const ws = watchAll(sm, 2n);
  while (sm.watches.sync() > 0);
  const all = ws.flatMap((w) => w.sink.got);
  expect(all.length).toBeGreaterThan(200);
  expect(expectSameBytes(all)).toBe(all.length);
});

test('a response changed after it was built, or not built from a batch, takes the generated encoder', () => {
  const sm = new StateMachine();
  const sink = collector();
  sm.watches.watch(7n, watchReq('k'), sink);
  sm.put(put('k', 'one'));
  const r = sink.got[0]!;
  const changed = { ...r, events: [...r.events, ...r.events] };
  expect(batchOf(changed)).toBeUndefined();
  expect(serialize(changed)).toEqual(Buffer.from(WatchResponse.encode(changed).finish()));
  const canceled = { ...r, canceled: true, compactRevision: 3n };
  expect(serialize(canceled)).toEqual(Buffer.from(WatchResponse.encode(canceled).finish()));
  // The header of a later term is encoded again, not served from the cache.
  serialize(r);
  r.header!.raftTerm = 9n;
  expect(serialize(r)).toEqual(Buffer.from(WatchResponse.encode(r).finish()));
});

test('watchers sharing a batch still get their own watch ID and exactly their own events, in order', () => {
  const shared = new StateMachine();
  const ws = watchAll(shared);
  writeAll(shared);
  for (const w of ws) {
    // The same watcher alone in a hub of its own: what it must receive.
    const alone = new StateMachine();
    const sink = collector();
    alone.watches.watch(w.id, watchReq(...w.shape), sink);
    writeAll(alone);
    expect(w.sink.got.every((r) => r.watchId === w.id)).toBe(true);
    expect(eventsOf(w.sink.got)).toEqual(eventsOf(sink.got));
    expect(w.sink.got.map((r) => r.header!.revision)).toEqual(sink.got.map((r) => r.header!.revision));
    const revs = w.sink.got.map((r) => Number(r.header!.revision));
    expect(revs).toEqual([...revs].sort((x, y) => x - y));
  }
  // Watchers of one shape share the very same events (the point of the batch).
  const ofFirstShape = ws.filter((w) => w.shape === SHAPES[0]).map((w) => w.sink.got[0]!);
  expect(new Set(ofFirstShape.map((r) => r.events)).size).toBe(1);
  expect(new Set(ofFirstShape.map((r) => r.watchId)).size).toBe(IDS.length);
});
