/**
 * Watch creates that etcd refuses or cancels, with the same assertions on etcd 3.4 and Concord
 * (issue 23): a negative start revision is before the compact revision (-1 until the first
 * compaction) and is canceled as compacted, except -1 on a store never compacted, which
 * watches from the next write; a range that holds no key is refused with watch ID -1, as is a
 * duplicate watch ID.
 */
import { createChannel, createClient } from 'nice-grpc';
import {
  KVDefinition,
  WatchCreateRequest,
  WatchDefinition,
  type WatchRequest,
  type WatchResponse,
} from '../../src/gen/etcdserverpb/rpc.js';
import { BatchQueue } from '../../src/transport/batch-queue.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { BOTH_TARGETS } from '../harness/targets.js';

const enc = (s: string) => Buffer.from(s);

/** What a test reads of a watch response. */
interface Seen {
  watchId: string;
  created: boolean;
  canceled: boolean;
  compactRevision: string;
  cancelReason: string;
  events: string[];
}
const seen = (r: WatchResponse): Seen => ({
  watchId: r.watchId.toString(),
  created: r.created,
  canceled: r.canceled,
  compactRevision: r.compactRevision.toString(),
  cancelReason: r.cancelReason,
  events: r.events.map((e) => Buffer.from(e.kv!.value).toString()),
});

describe.each(BOTH_TARGETS)('watch create rules on %s', (name, bin) => {
  const etcd = etcdSuite({ members: 1, bin, name: `wcreate-${name}` });
  let channel: ReturnType<typeof createChannel>;
  beforeAll(() => {
    channel = createChannel(etcd.cluster.endpoints[0]!);
  });
  afterAll(() => {
    channel?.close();
  });

  /**
   * Sends the creates on one stream, runs `then` once `wait` responses have come, and resolves
   * with every response seen until `total` have come (or 3 s have passed).
   */
  async function watch(
    creates: Partial<WatchCreateRequest>[],
    total: number,
    then?: { after: number; run: () => Promise<unknown> },
  ): Promise<Seen[]> {
    const reqs = new BatchQueue<WatchRequest>();
    for (const c of creates) reqs.push({ createRequest: WatchCreateRequest.fromPartial(c) });
    const out: Seen[] = [];
    const signal = AbortSignal.timeout(3000);
    try {
      for await (const r of createClient(WatchDefinition, channel).watch(reqs, { signal })) {
        out.push(seen(r));
        if (then && out.length === then.after) await then.run();
        if (out.length >= total) break;
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      reqs.close();
    }
    return out;
  }

  const kv = () => createClient(KVDefinition, channel);

  test('negative start revisions before and after the first compaction', async () => {
    await kv().put({ key: enc('neg'), value: enc('1') });
    // Before any compaction: -5 is before etcd's compact revision (-1).
    expect(await watch([{ key: enc('neg'), startRevision: -5n }], 2)).toEqual([
      expect.objectContaining({ created: true, canceled: false }),
      expect.objectContaining({ canceled: true, compactRevision: '-1' }),
    ]);
    // -1 is not: it watches from the next write (the earlier put is not replayed). etcd holds
    // such a watcher as unsynced until its next sync round (every 100 ms), and a write before
    // that round is not delivered: the write waits well past it.
    const fromNow = await watch([{ key: enc('neg'), startRevision: -1n }], 2, {
      after: 1,
      run: async () => {
        await new Promise((r) => setTimeout(r, 1000));
        await kv().put({ key: enc('neg'), value: enc('2') });
      },
    });
    expect(fromNow).toEqual([
      expect.objectContaining({ created: true, canceled: false }),
      expect.objectContaining({ canceled: false, events: ['2'] }),
    ]);
    const put = await kv().put({ key: enc('neg'), value: enc('3') });
    const rev = put.header!.revision;
    await kv().compact({ revision: rev, physical: true });
    for (const start of [-1n, rev - 1n]) {
      expect(await watch([{ key: enc('neg'), startRevision: start }], 2)).toEqual([
        expect.objectContaining({ created: true, canceled: false }),
        expect.objectContaining({ canceled: true, compactRevision: rev.toString() }),
      ]);
    }
    // The compact revision itself is not compacted: its write is replayed.
    expect(await watch([{ key: enc('neg'), startRevision: rev }], 2)).toEqual([
      expect.objectContaining({ created: true, canceled: false }),
      expect.objectContaining({ canceled: false, events: ['3'] }),
    ]);
    // 0 is the next write, compaction or not.
    const next = await watch([{ key: enc('neg') }], 2, {
      after: 1,
      run: () => kv().put({ key: enc('neg'), value: enc('4') }),
    });
    expect(next).toEqual([
      expect.objectContaining({ created: true, canceled: false }),
      expect.objectContaining({ canceled: false, events: ['4'] }),
    ]);
  }, 30_000);

  test('an empty range and a duplicate ID are refused with watch ID -1', async () => {
    const refused = (reason: string) => ({
      watchId: '-1',
      created: true,
      canceled: true,
      compactRevision: '0',
      cancelReason: reason,
      events: [],
    });
    const empty = 'mvcc: watcher range is empty';
    expect(await watch([{ key: enc('b'), rangeEnd: enc('a') }], 1)).toEqual([refused(empty)]);
    expect(await watch([{ key: enc('b'), rangeEnd: enc('b') }], 1)).toEqual([refused(empty)]);
    // "\0" is every key from key on; an empty key is the smallest key.
    expect(await watch([{ key: enc('b'), rangeEnd: Buffer.from([0]) }], 1)).toEqual([
      expect.objectContaining({ created: true, canceled: false }),
    ]);
    expect(await watch([{ key: Buffer.alloc(0), rangeEnd: enc('a') }], 1)).toEqual([
      expect.objectContaining({ created: true, canceled: false }),
    ]);
    expect(
      await watch(
        [
          { key: enc('a'), watchId: 5n },
          { key: enc('a'), watchId: 5n },
        ],
        2,
      ),
    ).toEqual([
      expect.objectContaining({ watchId: '5', created: true, canceled: false }),
      refused('mvcc: duplicate watch ID provided on the WatchStream'),
    ]);
  }, 30_000);
});
