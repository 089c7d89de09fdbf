/**
 * Apply never stops on one request (issue 23):
 * - a txn nested as deep as etcd nests it (--max-txn-ops levels, 127 by default) is accepted,
 *   applied and replayed after a restart, on gRPC and on the gateway; one level more is refused
 *   before it is proposed, with etcd's error. Same assertions on etcd 3.4 and on Concord.
 * - a planted apply failure (CONCORD_FAILPOINTS=apply=throw: a put under failpoint/apply-throw
 *   throws in apply) fails that request only, on every member alike: the others go on, the
 *   members agree (HashKV) and each restarts.
 */
import { createChannel, createClient } from 'nice-grpc';
import {
  KVDefinition,
  MaintenanceDefinition,
  type RequestOp,
  type TxnRequest,
} from '../../src/gen/etcdserverpb/rpc.js';
import { type EtcdCluster, startEtcd, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { ensureBuilt } from '../harness/fixtures.js';
import { grpcOutcome } from '../harness/grpc-outcome.js';
import { BOTH_TARGETS, CONCORD_AS_ETCD } from '../harness/targets.js';

const enc = (s: string) => Buffer.from(s);
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A txn whose one success op is a txn, `depth` times, around a put of `key`. */
function nested(depth: number, key: string): TxnRequest {
  let t: TxnRequest = {
    compare: [],
    success: [
      {
        requestPut: {
          key: enc(key),
          value: enc('v'),
          lease: 0n,
          prevKv: false,
          ignoreValue: false,
          ignoreLease: false,
        },
      },
    ],
    failure: [],
  };
  for (let i = 0; i < depth; i++) t = { compare: [], success: [{ requestTxn: t } as RequestOp], failure: [] };
  return t;
}

/** The same txn as the gateway's JSON. */
function nestedJson(depth: number, key: string): string {
  let s = `{"request_put":{"key":"${b64(key)}","value":"${b64('v')}"}}`;
  for (let i = 0; i < depth; i++) s = `{"request_txn":{"success":[${s}]}}`;
  return `{"success":[${s}]}`;
}

describe.each(BOTH_TARGETS)('nested txns on %s', (name, bin) => {
  const etcd = etcdSuite({ members: 1, bin, name: `nest-${name}` });

  const base = () => `http://${etcd.cluster.endpoints[0]!.replace(/^https?:\/\//, '')}`;

  test('accepted and applied up to --max-txn-ops levels on gRPC and the gateway; one more is refused', async () => {
    const channel = createChannel(etcd.cluster.endpoints[0]!);
    const kv = createClient(KVDefinition, channel);
    try {
      for (const depth of [49, 50, 100, 127]) {
        const key = `nest/grpc/${depth}`;
        const r = await kv.txn(nested(depth, key));
        expect(r.succeeded).toBe(true);
        expect((await kv.range({ key: enc(key) })).count).toBe(1n);

        const gwKey = `nest/gw/${depth}`;
        const res = await fetch(`${base()}/v3/kv/txn`, { method: 'POST', body: nestedJson(depth, gwKey) });
        expect(res.status).toBe(200);
        expect((await kv.range({ key: enc(gwKey) })).count).toBe(1n);
      }
      expect(await grpcOutcome(kv.txn(nested(128, 'nest/grpc/128')))).toBe(
        'INVALID_ARGUMENT: etcdserver: too many operations in txn request',
      );
      const res = await fetch(`${base()}/v3/kv/txn`, {
        method: 'POST',
        body: nestedJson(128, 'nest/gw/128'),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBe(
        'etcdserver: too many operations in txn request',
      );
      expect((await kv.range({ key: enc('nest/'), rangeEnd: enc('nest0') })).count).toBe(8n);
    } finally {
      channel.close();
    }
    // The log holds the deep entries: a restart replays them.
    await etcd.cluster.kill(0);
    await etcd.cluster.restart(0);
    const again = createChannel(etcd.cluster.endpoints[0]!);
    try {
      const kv2 = createClient(KVDefinition, again);
      expect((await kv2.range({ key: enc('nest/'), rangeEnd: enc('nest0') })).count).toBe(8n);
    } finally {
      again.close();
    }
  }, 90_000);
});

describe('a planted apply failure (concord, 3 members)', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    ensureBuilt();
    cluster = await startEtcd({
      members: 3,
      bin: CONCORD_AS_ETCD,
      name: 'applythrow',
      env: { CONCORD_FAILPOINTS: 'apply=throw' },
    });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  /** Every member's HashKV at the same revision, once each has applied it. */
  async function hashes(revision: bigint): Promise<number[]> {
    return Promise.all(
      cluster.endpoints.map(async (e) => {
        const channel = createChannel(e);
        try {
          const m = createClient(MaintenanceDefinition, channel);
          const deadline = Date.now() + 10_000;
          for (;;) {
            try {
              return (await m.hashKV({ revision })).hash;
            } catch (err) {
              // A member that has not applied `revision` yet answers "future revision".
              if (Date.now() > deadline) throw err;
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        } finally {
          channel.close();
        }
      }),
    );
  }

  test('fails that request only, alike on every member, and every member restarts', async () => {
    const channel = createChannel(cluster.endpoints.join(',').split(',')[0]!);
    const kv = createClient(KVDefinition, channel);
    try {
      await kv.put({ key: enc('before'), value: enc('1') });
      const planted = await grpcOutcome(kv.put({ key: enc('failpoint/apply-throw/a'), value: enc('x') }));
      expect(planted).toMatch(
        /^INTERNAL: etcdserver: request could not be applied at index \d+: failpoint apply: throw$/,
      );
      const inTxn = await grpcOutcome(
        kv.txn({
          compare: [],
          success: [
            {
              requestPut: {
                key: enc('txn/a'),
                value: enc('1'),
                lease: 0n,
                prevKv: false,
                ignoreValue: false,
                ignoreLease: false,
              },
            },
            {
              requestPut: {
                key: enc('failpoint/apply-throw/b'),
                value: enc('x'),
                lease: 0n,
                prevKv: false,
                ignoreValue: false,
                ignoreLease: false,
              },
            },
          ],
          failure: [],
        }),
      );
      expect(inTxn).toMatch(/^INTERNAL: /);
      const after = await kv.put({ key: enc('after'), value: enc('2') });
      const rev = after.header!.revision;
      const hs = await hashes(rev);
      expect(new Set(hs).size).toBe(1);
      for (const e of cluster.endpoints) {
        const res = await fetch(`http://${e.replace(/^https?:\/\//, '')}/readyz?verbose`);
        expect(res.status).toBe(200);
        expect(await res.text()).toContain('[+]raft_loop ok');
      }
      // Each member replays the failed entries from its log and comes back.
      for (let i = 0; i < 3; i++) {
        await cluster.kill(i);
        await withTimeout(cluster.restart(i), 30_000, `member ${i} to restart`);
      }
      await cluster.waitHealthy();
      const again = await kv.put({ key: enc('again'), value: enc('3') });
      expect(new Set(await hashes(again.header!.revision)).size).toBe(1);
      expect((await kv.range({ key: enc('failpoint/'), rangeEnd: enc('failpoint0') })).count).toBe(0n);
    } finally {
      channel.close();
    }
  }, 120_000);
});
