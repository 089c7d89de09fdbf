/**
 * `npm run bench` starts each case at the leader: leaderFirst() finds it from the members'
 * /metrics (`etcd_server_is_leader`), on real etcd and on Concord alike, so the 1-client put
 * measures the same path on both clusters.
 */
import { leaderChanges, leaderFirst, scrapeMetrics } from '../../bench/api-metrics.js';
import { CONCORD_BIN } from '../cluster/concord-bin.js';
import { ensureServerBuilt } from '../harness/concord.js';
import { type EtcdCluster, startEtcd } from '../harness/etcd.js';

describe.each([
  ['etcd', undefined],
  ['concord', CONCORD_BIN],
])('%s', (_name, bin) => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    if (bin) ensureServerBuilt();
    cluster = await startEtcd({ members: 3, name: 'leader-first', ...(bin && { bin }) });
  }, 60_000);
  afterAll(() => cluster?.close());

  test('the leader comes first, the others keep their order', async () => {
    const leader = await cluster.leaderIndex();
    const endpoints = cluster.endpoints.map((e) => e.replace(/^https?:\/\//, ''));
    const metrics = await scrapeMetrics(endpoints);
    expect(leaderFirst(endpoints, metrics)).toEqual([
      endpoints[leader],
      ...endpoints.filter((_, i) => i !== leader),
    ]);
    // The same scrape gives the leader changes: at least the election that made this leader.
    expect(leaderChanges(metrics)).toBeGreaterThanOrEqual(1);
  });
});

test('endpoints no member answers for stay as given', async () => {
  const endpoints = ['127.0.0.1:1', '127.0.0.1:2'];
  const metrics = await scrapeMetrics(endpoints);
  expect(metrics).toEqual([undefined, undefined]);
  expect(leaderFirst(endpoints, metrics)).toEqual(endpoints);
  expect(leaderChanges(metrics)).toBeUndefined();
});
