/**
 * SDK watches against a real single-member etcd 3.4: event shapes, ranges, options, history
 * replay, compaction, cancellation (checked on the server through its /metrics), stream
 * sharing and progress notifications.
 */
import { getEventListeners } from 'node:events';
import { Client, CompactedError, op, type Watch, type WatchEvent } from '../../src/index.js';
import { waitFor } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { metric, Reader, WATCH_RPC, watchMetrics, within } from './watch-helpers.js';

// Timed progress notifications every 300 ms instead of etcd's default 10 min.
const etcd = etcdSuite({
  members: 1,
  name: 'watch',
  extraArgs: ['--experimental-watch-progress-notify-interval', '300ms'],
});
let url: string;
let client: Client;
let seq = 0;
/** A key prefix no other test uses. */
const fresh = (name: string) => `watch-test/${name}/${Date.now()}-${++seq}/`;

beforeAll(() => {
  url = etcd.cluster.members[0]!.clientUrl;
});

beforeEach(() => {
  client = etcd.newClient();
});

/** Waits until the member has no watch left (every earlier test's client is closed). */
async function idleServer(): Promise<{ watchers: number; streams: number; started: number }> {
  let m = await watchMetrics(url);
  await waitFor(
    async () => {
      m = await watchMetrics(url);
      return m.watchers === 0 && m.streams === 0;
    },
    { timeoutMs: 5000, what: 'etcd to have no watchers or watch streams' },
  );
  return m;
}

async function settle(expected: { watchers: number; streams: number }, what: string): Promise<void> {
  let last = await watchMetrics(url);
  await waitFor(
    async () => {
      last = await watchMetrics(url);
      return last.watchers === expected.watchers && last.streams === expected.streams;
    },
    { timeoutMs: 5000, what: `${what} (want ${JSON.stringify(expected)})` },
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last seen ${JSON.stringify(last)}`);
  });
}

/**
 * Watch streams the server sees for `n` open watches of one client: on gRPC they share one
 * stream; the fetch transport opens one streamed request per watch.
 */
const streamsFor = (n: number) => (client.transport === 'fetch' ? n : Math.min(n, 1));

const summary = (evs: WatchEvent[]) => evs.map((e) => [e.type, e.key.toString(), e.revision]);

describe('events', () => {
  test('a key watch delivers puts and deletes of that key only, in order, with kv and revision', async () => {
    const p = fresh('key');
    const k = `${p}k`;
    const r = new Reader(await client.watch(k));
    const p1 = await client.put(k, 'v1');
    await client.put(`${p}k2`, 'not watched');
    await client.put(`${p}j`, 'not watched');
    const p2 = await client.put(k, 'v2');
    const d = await client.delete(k);
    const p3 = await client.put(k, 'v3');

    const evs = await r.events(4);
    expect(summary(evs)).toEqual([
      ['put', k, p1.header.revision],
      ['put', k, p2.header.revision],
      ['delete', k, d.header.revision],
      ['put', k, p3.header.revision],
    ]);
    const [e1, e2, e3, e4] = evs as [WatchEvent, WatchEvent, WatchEvent, WatchEvent];
    expect(e1.kv.text()).toBe('v1');
    expect(e1.kv.keyText()).toBe(k);
    expect(e1.kv.createRevision).toBe(p1.header.revision);
    expect(e1.kv.modRevision).toBe(p1.header.revision);
    expect(e1.kv.version).toBe(1n);
    expect(e2.kv.text()).toBe('v2');
    expect(e2.kv.createRevision).toBe(p1.header.revision);
    expect(e2.kv.modRevision).toBe(p2.header.revision);
    expect(e2.kv.version).toBe(2n);
    // A delete's kv is the tombstone: the key, the delete's revision, no value, version 0.
    expect(e3.kv.keyText()).toBe(k);
    expect(e3.kv.modRevision).toBe(d.header.revision);
    expect(e3.kv.value.length).toBe(0);
    expect(e3.kv.version).toBe(0n);
    // Recreated after the delete: a new create revision.
    expect(e4.kv.createRevision).toBe(p3.header.revision);
    expect(e4.kv.version).toBe(1n);
    for (const e of evs) expect(e.prevKv).toBeUndefined();
    // One revision per response here; the header is at least the events' revision.
    expect(r.batches.map((b) => b.progress)).toEqual([false, false, false, false]);
    for (const [i, b] of r.batches.entries())
      expect(b.header.revision).toBeGreaterThanOrEqual(evs[i]!.revision);
    expect(r.buffered).toEqual([]);
  });

  test('a prefix watch sees every key under the prefix and nothing outside it', async () => {
    const p = fresh('prefix');
    const r = new Reader(await client.watch({ prefix: `${p}in/` }));
    await client.put(`${p}in`, 'no: the prefix itself without the slash');
    const a = await client.put(`${p}in/a`, '1');
    await client.put(`${p}io/a`, 'no');
    const b = await client.put(`${p}in/b/c`, '2');
    await client.put(`${p}in0`, 'no');
    const d = await client.delete({ prefix: `${p}in/` });
    const evs = await r.events(4);
    // One delete of a range yields one event per key, all at the delete's revision.
    expect(summary(evs)).toEqual([
      ['put', `${p}in/a`, a.header.revision],
      ['put', `${p}in/b/c`, b.header.revision],
      ['delete', `${p}in/a`, d.header.revision],
      ['delete', `${p}in/b/c`, d.header.revision],
    ]);
    const last = await client.put(`${p}in/z`, 'z');
    expect(summary(await r.events(1))).toEqual([['put', `${p}in/z`, last.header.revision]]);
  });

  test('a {key, end} watch covers [key, end)', async () => {
    const p = fresh('range');
    const r = new Reader(await client.watch({ key: `${p}b`, end: `${p}d` }));
    await client.put(`${p}a`, 'no');
    const b = await client.put(`${p}b`, 'yes');
    const c = await client.put(`${p}c9`, 'yes');
    await client.put(`${p}d`, 'no: end is exclusive');
    const c2 = await client.put(`${p}c`, 'yes');
    expect(summary(await r.events(3))).toEqual([
      ['put', `${p}b`, b.header.revision],
      ['put', `${p}c9`, c.header.revision],
      ['put', `${p}c`, c2.header.revision],
    ]);
  });

  test('prevKv: true gives the previous key-value of puts and deletes', async () => {
    const p = fresh('prevkv');
    const k = `${p}k`;
    const first = await client.put(k, 'old');
    const r = new Reader(await client.watch(k, { prevKv: true }));
    const second = await client.put(k, 'new');
    const del = await client.delete(k);
    const again = await client.put(k, 'again');
    const [put1, delete1, put2] = (await r.events(3)) as [WatchEvent, WatchEvent, WatchEvent];
    expect(put1.type).toBe('put');
    expect(put1.kv.text()).toBe('new');
    expect(put1.prevKv?.text()).toBe('old');
    expect(put1.prevKv?.keyText()).toBe(k);
    expect(put1.prevKv?.modRevision).toBe(first.header.revision);
    expect(delete1.type).toBe('delete');
    expect(delete1.revision).toBe(del.header.revision);
    expect(delete1.prevKv?.text()).toBe('new');
    expect(delete1.prevKv?.modRevision).toBe(second.header.revision);
    // A put after the delete has no previous value.
    expect(put2.revision).toBe(again.header.revision);
    expect(put2.prevKv).toBeUndefined();
  });

  test('filters: noPut delivers only deletes, noDelete only puts', async () => {
    const p = fresh('filters');
    const deletes = new Reader(await client.watch({ prefix: p }, { filters: { noPut: true } }));
    const puts = new Reader(await client.watch({ prefix: p }, { filters: { noDelete: true } }));
    const a = await client.put(`${p}a`, '1');
    const d1 = await client.delete(`${p}a`);
    const b = await client.put(`${p}b`, '2');
    const d2 = await client.delete(`${p}b`);
    expect(summary(await puts.events(2))).toEqual([
      ['put', `${p}a`, a.header.revision],
      ['put', `${p}b`, b.header.revision],
    ]);
    expect(summary(await deletes.events(2))).toEqual([
      ['delete', `${p}a`, d1.header.revision],
      ['delete', `${p}b`, d2.header.revision],
    ]);
    // Nothing else arrived in between: the next event of each is the next matching change.
    const c = await client.put(`${p}c`, '3');
    const d3 = await client.delete(`${p}c`);
    expect(summary(await puts.events(1))).toEqual([['put', `${p}c`, c.header.revision]]);
    expect(summary(await deletes.events(1))).toEqual([['delete', `${p}c`, d3.header.revision]]);
  });

  test('startRevision in the past replays history from exactly that revision, then goes live', async () => {
    const p = fresh('history');
    const k = `${p}k`;
    const written: { type: 'put' | 'delete'; rev: bigint; value: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client.put(k, `v${i}`);
      written.push({ type: 'put', rev: r.header.revision, value: `v${i}` });
    }
    const d = await client.delete(k);
    written.push({ type: 'delete', rev: d.header.revision, value: '' });
    await client.put(`${p}other`, 'not watched');

    const from = written[2]!.rev;
    const w = await client.watch(k, { startRevision: from });
    expect(w.nextRevision).toBe(from);
    const r = new Reader(w);
    const replay = await r.events(4);
    expect(replay.map((e) => ({ type: e.type, rev: e.revision, value: e.kv.text() }))).toEqual(
      written.slice(2),
    );
    const live = await client.put(k, 'live');
    expect(summary(await r.events(1))).toEqual([['put', k, live.header.revision]]);
    expect(w.nextRevision).toBe(live.header.revision + 1n);
  });

  test('a watch created before writes sees every one of 200 concurrent puts exactly once, in revision order', async () => {
    const p = fresh('all');
    const r = new Reader(await client.watch({ prefix: p }));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.put(`${p}${i % 17}`, String(i))),
    );
    const expected = results
      .map((x, i) => ({ rev: x.header.revision, value: String(i) }))
      .sort((x, y) => (x.rev < y.rev ? -1 : 1));
    const evs = await r.events(200);
    expect(evs.map((e) => ({ rev: e.revision, value: e.kv.text() }))).toEqual(expected);
    // Nothing more: the next event is the next write.
    const last = await client.put(`${p}last`, 'x');
    expect((await r.events(1))[0]!.revision).toBe(last.header.revision);
  });

  test('batches(): the events of one txn (one revision) arrive in one batch', async () => {
    const p = fresh('batches');
    const w = await client.watch({ prefix: p });
    const r = new Reader(w);
    await client.put(`${p}c`, 'to delete');
    const t = await client
      .txn()
      .success(op.put(`${p}a`, '1'), op.put(`${p}b`, '2'), op.delete(`${p}c`))
      .commit();
    const single = await client.put(`${p}d`, '4');

    const first = await r.nextBatch();
    expect(first?.events.map((e) => e.key.toString())).toEqual([`${p}c`]);
    const txnBatch = await r.nextBatch();
    expect(txnBatch?.progress).toBe(false);
    expect(txnBatch?.header.revision).toBe(t.header.revision);
    expect(summary(txnBatch?.events ?? [])).toEqual([
      ['put', `${p}a`, t.header.revision],
      ['put', `${p}b`, t.header.revision],
      ['delete', `${p}c`, t.header.revision],
    ]);
    const next = await r.nextBatch();
    expect(summary(next?.events ?? [])).toEqual([['put', `${p}d`, single.header.revision]]);
  });
});

describe('compaction', () => {
  test('watching from a compacted revision fails with CompactedError carrying the compact revision', async () => {
    const p = fresh('compacted');
    const k = `${p}k`;
    const old = await client.put(k, '1');
    await client.put(k, '2');
    const newer = await client.put(k, '3');
    await client.compact(newer.header.revision);

    // etcd creates the watch, then cancels it as its first response: the SDK may reject in
    // watch() or throw from the iteration; either way the error is a CompactedError.
    let err: unknown;
    try {
      const w = await client.watch(k, { startRevision: old.header.revision });
      for await (const e of w) throw new Error(`unexpected event ${e.type}@${e.revision}`);
      err = new Error('the watch ended without an error');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompactedError);
    expect((err as CompactedError).compactRevision).toBe(newer.header.revision);
    expect(client.holding.watches).toBe(0);

    // The client still works and a watch from the compact revision itself is fine.
    const r = new Reader(await client.watch(k, { startRevision: newer.header.revision }));
    expect(summary(await r.events(1))).toEqual([['put', k, newer.header.revision]]);
  });
});

describe('cancellation (checked on the server)', () => {
  test('leaving a for await loop cancels the watch and closes the stream', async () => {
    const base = await idleServer();
    const handled0 = await metric(url, 'grpc_server_handled_total', WATCH_RPC);
    const p = fresh('break');
    const w = await client.watch({ prefix: p });
    expect(client.holding.watches).toBe(1);
    await settle({ watchers: base.watchers + 1, streams: base.streams + 1 }, 'watch open on the server');

    const got: WatchEvent[] = [];
    const loop = (async () => {
      for await (const e of w) {
        got.push(e);
        break;
      }
    })();
    const put = await client.put(`${p}a`, '1');
    await within(loop, 5000, 'loop to get one event and break');
    expect(summary(got)).toEqual([['put', `${p}a`, put.header.revision]]);
    expect(w.closed).toBe(true);
    expect(client.holding.watches).toBe(0);
    await settle(base, 'watcher and stream gone after break');
    // The stream itself ended on the server (one more Watch RPC handled).
    await waitFor(async () => (await metric(url, 'grpc_server_handled_total', WATCH_RPC)) === handled0 + 1, {
      timeoutMs: 5000,
      what: 'the Watch RPC to end on the server',
    });
  });

  test('watch.cancel() ends a pending iteration and cancels on the server; one of two keeps the stream', async () => {
    const base = await idleServer();
    const p = fresh('cancel');
    const w1 = await client.watch(`${p}a`);
    const w2 = await client.watch(`${p}b`);
    await settle({ watchers: base.watchers + 2, streams: base.streams + streamsFor(2) }, 'two watchers open');

    const r1 = new Reader(w1);
    const pending = r1.nextBatch(5000);
    w1.cancel();
    expect(await pending).toBeUndefined();
    expect(r1.done).toBe(true);
    expect(w1.closed).toBe(true);
    expect(client.holding.watches).toBe(1);
    // Only the watcher went away; the other watch still uses the stream and still works.
    await settle({ watchers: base.watchers + 1, streams: base.streams + streamsFor(1) }, 'one watcher left');
    const r2 = new Reader(w2);
    await client.put(`${p}a`, 'canceled watch must not see this');
    const b = await client.put(`${p}b`, '1');
    expect(summary(await r2.events(1))).toEqual([['put', `${p}b`, b.header.revision]]);

    w2.cancel();
    w2.cancel(); // idempotent
    expect(client.holding.watches).toBe(0);
    await settle(base, 'no watcher and no stream once the last watch is canceled');
    // A canceled watch iterates as finished.
    for await (const e of w1) throw new Error(`event after cancel: ${e.type}`);
  });

  test('aborting the signal after creation cancels the open watch; iteration throws AbortError', async () => {
    const base = await idleServer();
    const p = fresh('abort-open');
    const ac = new AbortController();
    const w = await client.watch({ prefix: p }, { signal: ac.signal });
    await settle({ watchers: base.watchers + 1, streams: base.streams + 1 }, 'watch open');
    const iterating = (async () => {
      for await (const _ of w) {
        // no events are written
      }
    })();
    ac.abort();
    await expect(iterating).rejects.toMatchObject({ name: 'AbortError' });
    expect(w.closed).toBe(true);
    expect(client.holding.watches).toBe(0);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    await settle(base, 'watch gone after the abort');
    // A watch that ends otherwise lets go of the caller's signal too.
    const ac2 = new AbortController();
    const w2 = await client.watch({ prefix: p }, { signal: ac2.signal });
    w2.cancel();
    expect(getEventListeners(ac2.signal, 'abort')).toHaveLength(0);
  });

  test('await using cancels the watch at the end of the block', async () => {
    const base = await idleServer();
    const p = fresh('using');
    let seen: Watch | undefined;
    {
      await using w = await client.watch({ prefix: p });
      seen = w;
      expect(client.holding.watches).toBe(1);
      await settle({ watchers: base.watchers + 1, streams: base.streams + 1 }, 'watch open');
    }
    expect(seen.closed).toBe(true);
    expect(client.holding.watches).toBe(0);
    await settle(base, 'watch gone after the using block');
  });

  test('several watches of one client share one gRPC Watch stream (one request each on fetch), and each gets its own events', async () => {
    const base = await idleServer();
    const p = fresh('shared');
    const ws = await Promise.all([
      client.watch(`${p}a`),
      client.watch({ prefix: `${p}b/` }),
      client.watch({ key: `${p}c`, end: `${p}d` }),
    ]);
    expect(client.holding.watches).toBe(3);
    await settle({ watchers: base.watchers + 3, streams: base.streams + streamsFor(3) }, 'three watchers');
    expect(await metric(url, 'grpc_server_started_total', WATCH_RPC)).toBe(base.started + streamsFor(3));
    expect(new Set(ws.map((w) => w.id)).size).toBe(3);

    const readers = ws.map((w) => new Reader(w));
    const a = await client.put(`${p}a`, '1');
    const b = await client.put(`${p}b/x`, '2');
    const c = await client.put(`${p}c1`, '3');
    const all = await client.put(`${p}b/y`, '4');
    expect(summary(await readers[0]!.events(1))).toEqual([['put', `${p}a`, a.header.revision]]);
    expect(summary(await readers[1]!.events(2))).toEqual([
      ['put', `${p}b/x`, b.header.revision],
      ['put', `${p}b/y`, all.header.revision],
    ]);
    expect(summary(await readers[2]!.events(1))).toEqual([['put', `${p}c1`, c.header.revision]]);

    // A second client has its own stream.
    const other = new Client({ endpoints: etcd.cluster.endpoints });
    try {
      await other.watch(`${p}a`);
      await settle(
        { watchers: base.watchers + 4, streams: base.streams + streamsFor(3) + 1 },
        'a second client, a second stream',
      );
    } finally {
      other.close();
    }
    for (const w of ws) w.cancel();
    await settle(base, 'all gone');
  });

  test('client.close() ends open watches with an error and closes the stream', async () => {
    const base = await idleServer();
    const p = fresh('close');
    const own = new Client({ endpoints: etcd.cluster.endpoints });
    const r = new Reader(await own.watch({ prefix: p }));
    await settle({ watchers: base.watchers + 1, streams: base.streams + 1 }, 'watch open');
    const pending = r.nextBatch(5000);
    own.close();
    await expect(pending).rejects.toMatchObject({ code: 'client-closed' });
    expect(own.holding.watches).toBe(0);
    await settle(base, 'stream gone after close');
  });
});

describe('progress', () => {
  test('progressNotify: an idle watch gets progress batches at the current store revision', async () => {
    const p = fresh('progress-notify');
    const r = new Reader(await client.watch(`${p}k`, { progressNotify: true }));
    const unrelated = await client.put(`${p}other`, 'x');
    // The server sends one every 300 ms (cluster flag); the first one may predate the put.
    let batch = await r.nextBatch(5000);
    while (batch && batch.header.revision < unrelated.header.revision) batch = await r.nextBatch(5000);
    expect(batch?.progress).toBe(true);
    expect(batch?.events).toEqual([]);
    expect(batch?.header.revision).toBe(unrelated.header.revision);
    // The watch still delivers events after progress notifications.
    const put = await client.put(`${p}k`, 'v');
    let evBatch = await r.nextBatch(5000);
    while (evBatch?.progress) evBatch = await r.nextBatch(5000);
    expect(summary(evBatch?.events ?? [])).toEqual([['put', `${p}k`, put.header.revision]]);
  });

  test('requestProgress() yields a progress batch at the current store revision', async () => {
    const p = fresh('progress-request');
    const w = await client.watch(`${p}k`);
    const r = new Reader(w);
    const put = await client.put(`${p}k`, 'v');
    expect(summary(await r.events(1))).toEqual([['put', `${p}k`, put.header.revision]]);
    const unrelated = await client.put(`${p}other`, 'x');
    w.requestProgress();
    const b = await r.nextBatch(5000);
    expect(b?.progress).toBe(true);
    expect(b?.events).toEqual([]);
    expect(b?.header.revision).toBe(unrelated.header.revision);
    // Every watch of the stream gets it.
    const w2 = await client.watch(`${p}k2`);
    const r2 = new Reader(w2);
    w2.requestProgress();
    const b1 = await r.nextBatch(5000);
    const b2 = await r2.nextBatch(5000);
    expect([b1?.progress, b2?.progress]).toEqual([true, true]);
    expect(b2?.header.revision).toBe(unrelated.header.revision);
  });

  test('requestProgress() during a burst of writes loses no event', async () => {
    const p = fresh('progress-burst');
    const w = await client.watch({ prefix: p });
    const r = new Reader(w);
    let writing = true;
    const asker = (async () => {
      while (writing) {
        w.requestProgress();
        await new Promise((res) => setTimeout(res, 1));
      }
    })();
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => client.put(`${p}${i % 7}`, String(i))),
    );
    writing = false;
    await asker;
    const expected = results.map((x) => x.header.revision).sort((x, y) => (x < y ? -1 : 1));
    // Writes are consecutive revisions here; read up to the last one (a lost event must fail
    // the comparison, not time out).
    const evs = await r.until(expected[expected.length - 1]!, 10_000);
    expect(evs.map((e) => e.revision)).toEqual(expected);
    // The burst really raced progress notifications against events. (On fetch, where a
    // progress answer is a read of its own over HTTP/1.1, it may come after the burst's events:
    // then it is the next batch.)
    if (client.transport === 'fetch' && !r.batches.some((b) => b.progress)) {
      expect((await r.nextBatch(10_000))?.progress).toBe(true);
    }
    expect(r.batches.filter((b) => b.progress).length).toBeGreaterThan(0);
  });
});
