/**
 * A present-but-empty range_end (issue 16, item 2) over the SDK and the JSON gateway; the raw
 * gRPC cases (Range, read-only and write Txn, compares, Watch, DeleteRange) are the differential
 * fuzzer's regression in test/fuzz/differential-regressions.json. Over the gateway etcd
 * re-marshals the request, so `"range_end": ""` is one key; the SDK sends a single key with no
 * range_end at all, so a one-key get never reads to the end of the keyspace on either server.
 */
import { Client } from '../../src/index.js';
import { startEtcd } from '../harness/etcd.js';
import { ensureBuilt } from '../harness/fixtures.js';
import { postJson } from '../harness/gateway-http.js';
import { BOTH_TARGETS } from '../harness/targets.js';

beforeAll(() => ensureBuilt(), 120_000);

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe.each(BOTH_TARGETS)('range_end presence on %s', (name, bin) => {
  test('gateway "" is one key, "\\0" to the end; the SDK one-key get is one key', async () => {
    const cluster = await startEtcd({ members: 1, name: `range-end-${name}`, bin });
    const client = new Client({ endpoints: cluster.endpoints });
    try {
      await client.put('c', '1');
      await client.put('k1', '1');
      const url = `http://${cluster.endpoints[0]}/v3/kv/range`;
      const count = async (body: Record<string, string>) =>
        Number((await postJson<{ count?: string }>(url, body, 5000)).count ?? 0);
      expect(await count({ key: b64('b/1'), range_end: '' })).toBe(0);
      expect(await count({ key: b64('b/1'), range_end: b64('\0') })).toBe(2);
      expect(await count({ key: b64('c'), range_end: '' })).toBe(1);
      const txn = await postJson<{ responses: { response_range: { count?: string } }[] }>(
        `http://${cluster.endpoints[0]}/v3/kv/txn`,
        { success: [{ request_range: { key: b64('b/1'), range_end: '' } }] },
        5000,
      );
      expect(Number(txn.responses[0]!.response_range.count ?? 0)).toBe(0);
      // Sent with a present-empty range_end, etcd would answer 'c' (the first key after 'b/1').
      expect(await client.get('b/1')).toBeUndefined();
      expect((await client.get('c'))?.value.toString()).toBe('1');
    } finally {
      client.close();
      await cluster.close();
    }
  }, 60_000);
});
