/**
 * A watch event's prev_kv is the key at mod_revision - 1, as etcd reads it (issue 16, item 3):
 * when one txn puts a key (in one nested txn) and deletes it (in a sibling), both events carry
 * the key as it was before the txn, not the put of the same revision. Checked live and replayed
 * from history, with the same assertions on etcd 3.4 and Concord.
 */
import { createChannel, createClient } from 'nice-grpc';
import {
  KVDefinition,
  type TxnRequest,
  WatchCreateRequest,
  WatchDefinition,
  type WatchRequest,
} from '../../src/gen/etcdserverpb/rpc.js';
import { BatchQueue } from '../../src/transport/batch-queue.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { BOTH_TARGETS } from '../harness/targets.js';

const enc = (s: string) => Buffer.from(s);

/** Put `key` in one nested txn and delete it in a sibling: one revision, two events. */
function putThenDelete(key: string): TxnRequest {
  const put = {
    key: enc(key),
    value: enc('new'),
    lease: 0n,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  };
  return {
    compare: [],
    success: [
      { requestTxn: { compare: [], success: [{ requestPut: put }], failure: [] } },
      {
        requestTxn: {
          compare: [],
          success: [{ requestDeleteRange: { key: enc(key), rangeEnd: Buffer.alloc(0), prevKv: false } }],
          failure: [],
        },
      },
    ],
    failure: [],
  };
}

describe.each(BOTH_TARGETS)('watch prev_kv on %s', (name, bin) => {
  const etcd = etcdSuite({ members: 1, bin, name: `prevkv-${name}` });
  let channel: ReturnType<typeof createChannel>;
  beforeAll(() => {
    channel = createChannel(etcd.cluster.endpoints[0]!);
  });
  afterAll(() => {
    channel?.close();
  });

  /** The events of a prev_kv watch of `key` from `startRevision`, as `TYPE value prev`. */
  async function events(key: string, startRevision: bigint, want: number, during?: () => Promise<unknown>) {
    const reqs = new BatchQueue<WatchRequest>();
    reqs.push({
      createRequest: WatchCreateRequest.fromPartial({ key: enc(key), startRevision, prevKv: true }),
    });
    const out: string[] = [];
    const signal = AbortSignal.timeout(5000);
    try {
      for await (const r of createClient(WatchDefinition, channel).watch(reqs, { signal })) {
        if (r.created && during) await during();
        for (const e of r.events)
          out.push(
            `${e.type === 0 ? 'PUT' : 'DELETE'} ${Buffer.from(e.kv!.value).toString()} ${
              e.prevKv ? Buffer.from(e.prevKv.value).toString() : '-'
            }`,
          );
        if (out.length >= want) break;
      }
    } finally {
      reqs.close();
    }
    return out;
  }

  test.each([
    ['a key that did not exist', undefined, ['PUT new -', 'DELETE  -']],
    ['a key that held "old"', 'old', ['PUT new old', 'DELETE  old']],
  ])(
    'put and delete in one txn, on %s',
    async (_what, before, expected) => {
      const key = `prevkv/${before ?? 'none'}`;
      const kv = createClient(KVDefinition, channel);
      if (before !== undefined) await kv.put({ key: enc(key), value: enc(before) });
      let rev = 0n;
      const live = await events(key, 0n, 2, async () => {
        rev = (await kv.txn(putThenDelete(key))).header!.revision;
      });
      expect(live).toEqual(expected);
      expect(await events(key, rev, 2)).toEqual(expected);
    },
    30_000,
  );
});
