/**
 * Watch against a real `concord serve`: the stream protocol (created, events, prev_kv, filters,
 * cancel, progress, fragments, compacted cancel) checked on the raw gRPC stream, and the SDK's
 * resume across a SIGKILL and restart of the server: the watch continues exactly where it was.
 */
import { createChannel, createClient } from 'nice-grpc';
import {
  WatchCreateRequest_FilterType,
  WatchDefinition,
  type WatchRequest,
  type WatchResponse,
} from '../../src/gen/etcdserverpb/rpc.js';
import { Event_EventType } from '../../src/gen/mvccpb/kv.js';
import { Client, CompactedError, op, type WatchEvent } from '../../src/index.js';
import { BatchQueue } from '../../src/transport/batch-queue.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';
import { withTimeout } from '../harness/etcd.js';

let server: Concord;
let client: Client;

beforeAll(async () => {
  ensureServerBuilt();
  server = await startConcord({ args: ['--max-request-bytes', '65536'] });
  client = new Client({ endpoints: [server.endpoint] });
}, 120_000);

afterAll(async () => {
  client?.close();
  await server?.close();
});

/** A raw Watch stream: send requests, take responses one by one. */
function rawWatch() {
  const channel = createChannel(server.endpoint);
  const requests = new BatchQueue<Partial<WatchRequest>>();
  const abort = new AbortController();
  const it = createClient(WatchDefinition, channel)
    .watch(requests, { signal: abort.signal })
    [Symbol.asyncIterator]();
  return {
    send: (r: Partial<WatchRequest>) => requests.push(r),
    async next(): Promise<WatchResponse> {
      const r = await withTimeout(it.next(), 5000, 'a watch response');
      if (r.done) throw new Error('watch stream ended');
      return r.value;
    },
    close() {
      abort.abort();
      channel.close();
    },
  };
}

const create = (key: string, more: Record<string, unknown> = {}): Partial<WatchRequest> => ({
  createRequest: {
    key: Buffer.from(key),
    rangeEnd: Buffer.alloc(0),
    startRevision: 0n,
    progressNotify: false,
    filters: [],
    prevKv: false,
    watchId: 0n,
    fragment: false,
    ...more,
  },
});

test('created, events with prev_kv, NODELETE filter, cancel, progress', async () => {
  const w = rawWatch();
  try {
    w.send(create('w/a', { prevKv: true }));
    const created = await w.next();
    expect(created).toMatchObject({ created: true, watchId: 0n, canceled: false });
    expect(created.header?.memberId).not.toBe(0n);
    w.send(create('w/', { rangeEnd: Buffer.from('w0'), filters: [WatchCreateRequest_FilterType.NODELETE] }));
    expect(await w.next()).toMatchObject({ created: true, watchId: 1n });

    await client.put('w/a', '1');
    await client.put('w/a', '2');
    await client.delete('w/a');
    const got: WatchResponse[] = [];
    for (let i = 0; i < 5; i++) got.push(await w.next());
    const w0 = got.filter((r) => r.watchId === 0n).flatMap((r) => r.events);
    const w1 = got.filter((r) => r.watchId === 1n).flatMap((r) => r.events);
    expect(w0.map((e) => [e.type, e.kv?.value.toString(), e.prevKv?.value.toString()])).toEqual([
      [Event_EventType.PUT, '1', undefined],
      [Event_EventType.PUT, '2', '1'],
      [Event_EventType.DELETE, '', '2'],
    ]);
    expect(w1.map((e) => e.kv?.value.toString())).toEqual(['1', '2']);

    w.send({ cancelRequest: { watchId: 0n } });
    expect(await w.next()).toMatchObject({ canceled: true, watchId: 0n });
    w.send({ progressRequest: {} });
    const progress = await w.next();
    expect(progress.watchId).toBe(-1n);
    expect(progress.events).toEqual([]);
    expect(progress.header?.revision).toBe((await client.range({ prefix: 'w/' })).header.revision);
  } finally {
    w.close();
  }
});

test('a watch from a past revision replays history; a big revision comes in fragments when asked', async () => {
  const start = (await client.put('h/k', 'v1')).header.revision;
  await client.put('h/k', 'v2');
  const big = 'x'.repeat(20_000);
  await client.txn().success(op.put('h/f1', big), op.put('h/f2', big), op.put('h/f3', big)).commit();
  const w = rawWatch();
  try {
    w.send(create('h/', { rangeEnd: Buffer.from('h0'), startRevision: start, fragment: true, prevKv: true }));
    expect(await w.next()).toMatchObject({ created: true });
    const history = await w.next();
    expect(history.events.map((e) => e.kv?.value.toString().slice(0, 2))).toEqual([
      'v1',
      'v2',
      'xx',
      'xx',
      'xx',
    ]);
    // A second txn over the same keys: with prev_kv the revision is ~120 KB > 64 KiB: fragments.
    await client.txn().success(op.put('h/f1', big), op.put('h/f2', big), op.put('h/f3', big)).commit();
    const parts: WatchResponse[] = [await w.next()];
    while (parts[parts.length - 1]!.fragment) parts.push(await w.next());
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flatMap((p) => p.events).map((e) => e.kv?.key.toString())).toEqual(['h/f1', 'h/f2', 'h/f3']);
  } finally {
    w.close();
  }
});

test('a watch from a compacted revision is canceled with the compact revision', async () => {
  const old = (await client.put('cw/k', '1')).header.revision;
  const now = (await client.put('cw/k', '2')).header.revision;
  await client.compact(now);
  const w = rawWatch();
  try {
    w.send(create('cw/k', { startRevision: old }));
    expect(await w.next()).toMatchObject({ created: true });
    const canceled = await w.next();
    expect(canceled).toMatchObject({ canceled: true, compactRevision: now });
  } finally {
    w.close();
  }
  const sdk = await client.watch('cw/k', { startRevision: old });
  await expect(
    withTimeout(
      (async () => {
        for await (const _ of sdk) return;
      })(),
      5000,
      'compacted watch',
    ),
  ).rejects.toBeInstanceOf(CompactedError);
});

test('SIGKILL + restart: a watch resumes exactly, and history from a revision is the same as before', async () => {
  const prefix = 'resume/';
  const first = (await client.put(`${prefix}0`, '0')).header.revision;
  for (let i = 1; i < 5; i++) await client.put(`${prefix}${i}`, String(i));
  const watch = await client.watch({ prefix }, { startRevision: first });
  const seen: WatchEvent[] = [];
  const it = watch[Symbol.asyncIterator]();
  const take = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const r = await withTimeout(it.next(), 15_000, `event ${seen.length}`);
      if (r.done) throw new Error('watch ended');
      seen.push(r.value);
    }
  };
  await take(5);
  await server.kill('SIGKILL');
  await server.restart();
  for (let i = 5; i < 10; i++) await client.put(`${prefix}${i}`, String(i));
  await take(5);
  watch.cancel();
  expect(seen.map((e) => e.key.toString())).toEqual([...Array(10).keys()].map((i) => `${prefix}${i}`));
  expect(seen.map((e) => e.revision)).toEqual([...Array(10).keys()].map((i) => first + BigInt(i)));
  // The restarted server replays the same history from the first revision.
  const again = await client.watch({ prefix }, { startRevision: first });
  const replay: bigint[] = [];
  for await (const e of again) {
    replay.push(e.revision);
    if (replay.length === 10) break;
  }
  expect(replay).toEqual(seen.map((e) => e.revision));
}, 60_000);
