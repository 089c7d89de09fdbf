/**
 * Watch responses that queue while a write is pending go out in one corked HTTP/2 write, framed
 * as grpc-js frames each (watch-writev.ts); other methods, and calls without the grpc-js parts
 * used, still write one response at a time through sendMessage. Checked on grpc-js's own duplex
 * stream class over a stand-in call, then end to end: hundreds of watchers of one stream get
 * every event, in order, from a real member.
 */
import { Writable } from 'node:stream';
import { createChannel, createClient } from 'nice-grpc';
import { WatchDefinition, type WatchRequest, type WatchResponse } from '../../src/gen/etcdserverpb/rpc.js';
import { Client } from '../../src/index.js';
import { watchDefinition } from '../../src/server/api/watch-wire.js';
import { duplexStreamClass, WATCH_PATH } from '../../src/server/api/watch-writev.js';
import { BatchQueue } from '../../src/transport/batch-queue.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';
import { withTimeout } from '../harness/etcd.js';

type Duplex = Writable & { call: unknown };
const DuplexStream = duplexStreamClass() as unknown as new (
  path: string,
  call: unknown,
  md: unknown,
) => Duplex;

/** A stand-in for grpc-js's call: sendMessage and the HTTP/2 stream record what they are given. */
function standIn(path: string, parts = true, { maxSendMessageSize = -1, failWrites = false } = {}) {
  const sent: string[] = [];
  const writes: string[][] = [];
  const statuses: { code: number; details: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push([chunk.toString()]);
      setImmediate(cb);
    },
    writev(chunks, cb) {
      writes.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      setImmediate(() => cb(failWrites ? new Error('stream reset') : null));
    },
  });
  // grpc-js keeps an error listener on its HTTP/2 streams; the status is what reports a failure.
  stream.on('error', () => {});
  const call = {
    handler: { path },
    sendMessage(m: string, cb: () => void) {
      sent.push(m);
      setImmediate(cb);
    },
    ...(parts && {
      stream,
      maxSendMessageSize,
      serializeMessage(m: string) {
        if (m === 'bad') throw new Error('cannot encode');
        return Buffer.from(`[${m}]`);
      },
      checkCancelled: () => false,
      maybeSendMetadata() {},
      sendStatus(s: { code: number; details: string }) {
        statuses.push(s);
      },
    }),
  };
  const duplex = new DuplexStream(path, call, undefined);
  return { duplex, sent, writes, statuses };
}

// Loading watch-wire.ts installs the batching, as the gRPC server does.
expect(watchDefinition).toBeDefined();

/** Writes each message; resolves once the last one's write completed. */
function writeAll(d: Writable, ms: string[]): Promise<void> {
  return new Promise<void>((resolve) => {
    for (const m of ms.slice(0, -1)) d.write(m);
    d.write(ms[ms.length - 1], () => resolve());
  });
}

test('watch responses written while one is pending go out together, framed, in order', async () => {
  const { duplex, sent, writes } = standIn(WATCH_PATH);
  await writeAll(duplex, ['a', 'b', 'c', 'd']);
  // The first found nothing pending: sendMessage. The next three waited, and went in one write.
  expect(sent).toEqual(['a']);
  expect(writes).toEqual([['[b]', '[c]', '[d]']]);
});

test('other methods, and calls without the parts used, write one response at a time', async () => {
  for (const s of [standIn('/etcdserverpb.Lease/LeaseKeepAlive'), standIn(WATCH_PATH, false)]) {
    await writeAll(s.duplex, ['a', 'b', 'c']);
    expect(s.sent).toEqual(['a', 'b', 'c']);
    expect(s.writes).toEqual([]);
  }
});

test('a batch holding a response over the send limit goes through sendMessage, which refuses it', async () => {
  // '[toolong]' is 9 bytes, 4 past the 5-byte prefix grpc-js counts: over a limit of 3.
  const { duplex, sent, writes } = standIn(WATCH_PATH, true, { maxSendMessageSize: 3 });
  await writeAll(duplex, ['a', 'b', 'toolong', 'c']);
  expect(sent).toEqual(['a', 'b', 'toolong', 'c']);
  expect(writes).toEqual([]);
});

test('a batched write that fails ends the call INTERNAL, as grpc-js does for one', async () => {
  const { duplex, writes, statuses } = standIn(WATCH_PATH, true, { failWrites: true });
  for (const m of ['a', 'b', 'c']) duplex.write(m);
  await new Promise((r) => setTimeout(r, 20));
  expect(writes).toEqual([['[b]', '[c]']]);
  expect(statuses).toEqual([{ code: 13, details: 'Internal server error', metadata: null }]);
});

test('a response that does not encode ends the call as grpc-js would', async () => {
  const { duplex, writes, statuses } = standIn(WATCH_PATH);
  for (const m of ['a', 'b', 'bad']) duplex.write(m);
  await new Promise((r) => setTimeout(r, 20));
  expect(writes).toEqual([]);
  expect(statuses).toEqual([{ code: 13, details: 'Error serializing response', metadata: null }]);
});

describe('against a member', () => {
  let server: Concord;
  beforeAll(async () => {
    ensureServerBuilt();
    server = await startConcord();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  test('500 watchers of one stream each get every event, in order', async () => {
    const WATCHERS = 500;
    const PUTS = 5;
    const channel = createChannel(server.endpoint);
    const client = new Client({ endpoints: [server.endpoint] });
    const requests = new BatchQueue<Partial<WatchRequest>>();
    const abort = new AbortController();
    try {
      for (let i = 0; i < WATCHERS; i++)
        requests.push({ createRequest: { key: Buffer.from('wv/k'), watchId: BigInt(i + 1) } as never });
      const got = new Map<bigint, string[]>();
      let created = 0;
      let events = 0;
      const reading = (async () => {
        for await (const r of createClient(WatchDefinition, channel).watch(requests, {
          signal: abort.signal,
        })) {
          const resp = r as WatchResponse;
          if (resp.created) created++;
          for (const e of resp.events) {
            const list = got.get(resp.watchId) ?? [];
            list.push(Buffer.from(e.kv!.value).toString());
            got.set(resp.watchId, list);
            events++;
          }
          if (events === WATCHERS * PUTS) return;
        }
      })();
      await withTimeout(
        (async () => {
          while (created < WATCHERS) await new Promise((r) => setTimeout(r, 10));
        })(),
        20_000,
        'every watcher created',
      );
      for (let i = 0; i < PUTS; i++) await client.put('wv/k', `v${i}`);
      await withTimeout(reading, 20_000, 'every event');
      const want = Array.from({ length: PUTS }, (_, i) => `v${i}`);
      expect(got.size).toBe(WATCHERS);
      for (const list of got.values()) expect(list).toEqual(want);
    } finally {
      abort.abort();
      requests.close();
      client.close();
      channel.close();
    }
  }, 60_000);
});
