/**
 * A watcher's response still waiting in its stream's queue takes the watcher's next revisions
 * (one message for several, as etcd sends a catching-up watcher), and nothing else changes:
 * each watcher still gets exactly its events in revision order, a response handed to the writer
 * is never changed, nothing is added across a response not tied to one watcher's events
 * (created, canceled, progress), fragmenting watchers are left alone, and a joined response
 * stays under WATCH_JOIN_MAX_BYTES. Driven through the real service over a real state machine,
 * with the member around it stood in for.
 */
import type { CallContext } from 'nice-grpc-common';
import { type ResponseHeader, type WatchRequest, WatchResponse } from '../../src/gen/etcdserverpb/rpc.js';
import { StateMachine } from '../../src/mvcc/index.js';
import { WATCH_JOIN_MAX_BYTES, watchService } from '../../src/server/api/watch-service.js';
import { encodeWatchResponse } from '../../src/server/api/watch-wire.js';
import type { Node } from '../../src/server/bootstrap/node.js';
import { BatchQueue } from '../../src/transport/batch-queue.js';
import { withTimeout } from '../harness/etcd.js';
import { put, watchReq } from '../mvcc/helpers.js';

/** The parts of a member the watch service uses, over a real state machine. */
function member(sm: StateMachine): Node {
  return {
    sm,
    auth: { enabled: false },
    afterWatchSync: new Set(),
    onAuthChange: new Set(),
    metrics: { watchStreams: { inc() {}, dec() {} } },
    streams: new Set(),
    header(h: ResponseHeader | undefined, revision?: number) {
      const out = h ?? { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n };
      out.clusterId = 1n;
      out.memberId = 2n;
      if (revision !== undefined) out.revision = BigInt(revision);
      return out;
    },
    syncWatchers() {
      sm.watches.sync();
    },
  } as unknown as Node;
}

/** A watch stream on `sm`: requests go in, responses are read only when the test asks. */
function open(sm: StateMachine) {
  const requests = new BatchQueue<WatchRequest>();
  const abort = new AbortController();
  const out = watchService(member(sm))
    .watch(requests, { signal: abort.signal, metadata: new Map() } as unknown as CallContext)
    [Symbol.asyncIterator]();
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    async send(r: Partial<WatchRequest>) {
      requests.push(r as WatchRequest);
      await settle();
    },
    async next(): Promise<WatchResponse> {
      const r = await withTimeout(out.next(), 2000, 'a watch response');
      if (r.done) throw new Error('stream ended');
      return r.value as WatchResponse;
    },
    close() {
      requests.close();
      abort.abort();
    },
  };
}

const create = (key: string, more: Parameters<typeof watchReq>[1] = {}): Partial<WatchRequest> => ({
  createRequest: watchReq(key, more),
});
/** Runs `body` with a fresh state machine and a stream on it, closed after. */
async function withStream(
  body: (sm: StateMachine, s: ReturnType<typeof open>) => Promise<void>,
): Promise<void> {
  const sm = new StateMachine();
  const s = open(sm);
  try {
    await body(sm, s);
  } finally {
    s.close();
  }
}

const values = (r: WatchResponse) => r.events.map((e) => Buffer.from(e.kv!.value).toString());

test('revisions that arrive while a watcher’s response waits go out in that response', async () => {
  await withStream(async (sm, s) => {
    await s.send(create('k'));
    await s.send(create('k'));
    sm.put(put('k', '1'));
    sm.put(put('k', '2'));
    sm.put(put('k', '3'));
    expect(await s.next()).toMatchObject({ created: true, watchId: 0n });
    expect(await s.next()).toMatchObject({ created: true, watchId: 1n });
    const joined: WatchResponse[] = [];
    for (const id of [0n, 1n]) {
      const r = await s.next();
      joined.push(r);
      expect(r.watchId).toBe(id);
      expect(values(r)).toEqual(['1', '2', '3']);
      expect(r.header!.revision).toBe(BigInt(sm.revision));
      // The joined bytes are what the generated encoder writes for the same response.
      expect(Buffer.from(encodeWatchResponse(r))).toEqual(Buffer.from(WatchResponse.encode(r).finish()));
    }
    // Both watchers joined the same batches: they share the joined events, built once.
    expect(joined[0]!.events).toBe(joined[1]!.events);
  });
});

test('a response handed to the writer is never changed; later revisions go in a new one', async () => {
  await withStream(async (sm, s) => {
    await s.send(create('k'));
    await s.next();
    sm.put(put('k', '1'));
    const first = await s.next();
    sm.put(put('k', '2'));
    sm.put(put('k', '3'));
    expect(values(first)).toEqual(['1']);
    expect(values(await s.next())).toEqual(['2', '3']);
  });
});

test('nothing is added to a response across a progress, created or canceled response after it', async () => {
  await withStream(async (sm, s) => {
    await s.send(create('k'));
    sm.put(put('k', '1'));
    await s.send({ progressRequest: {} });
    sm.put(put('k', '2'));
    await s.send(create('other'));
    sm.put(put('k', '3'));
    await s.send({ cancelRequest: { watchId: 1n } });
    sm.put(put('k', '4'));
    const got: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await s.next();
      got.push(
        r.created
          ? `created ${r.watchId}`
          : r.canceled
            ? `canceled ${r.watchId}`
            : `${r.watchId}:${values(r)}`,
      );
    }
    expect(got).toEqual(['created 0', '0:1', '-1:', '0:2', 'created 1', '0:3', 'canceled 1', '0:4']);
  });
});

test('a watcher that asked for fragments gets one response per revision', async () => {
  await withStream(async (sm, s) => {
    await s.send(create('k', { fragment: true }));
    await s.next();
    sm.put(put('k', '1'));
    sm.put(put('k', '2'));
    expect(values(await s.next())).toEqual(['1']);
    expect(values(await s.next())).toEqual(['2']);
  });
});

test(`a response takes no more revisions than fit in ${WATCH_JOIN_MAX_BYTES} bytes of events`, async () => {
  const big = (c: string) => c.repeat(WATCH_JOIN_MAX_BYTES / 3);
  await withStream(async (sm, s) => {
    await s.send(create('k'));
    await s.next();
    for (const c of 'abcd') sm.put(put('k', big(c)));
    const sizes: number[] = [];
    const firsts: string[] = [];
    for (let n = 0; n < 4; ) {
      const r = await s.next();
      sizes.push(r.events.reduce((sum, e) => sum + e.kv!.value.length, 0));
      firsts.push(...values(r).map((v) => v[0]!));
      n += r.events.length;
    }
    expect(firsts).toEqual(['a', 'b', 'c', 'd']);
    expect(sizes.length).toBe(2);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(WATCH_JOIN_MAX_BYTES);
  });
});
