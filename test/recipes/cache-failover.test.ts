/**
 * cache() across the loss of its member, on a real 3-member cluster: the member holding the
 * cache's only endpoint is SIGKILLed while another client writes through the two others, then
 * restarted. The cache is stale from the watch's disconnection (no heartbeat: the watch state
 * alone says it) until it has caught up, and each change made meanwhile is reported once.
 */
import { type CacheChange, cache } from '../../recipes/index.js';
import { waitFor } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 3, name: 'cache-failover', heal: true });

test('member killed under a cache: stale until caught up, each missed change reported once', async () => {
  const leader = await etcd.cluster.leaderIndex();
  const target = [0, 1, 2].find((i) => i !== leader)!;
  const others = [0, 1, 2].filter((i) => i !== target);
  const eps = etcd.cluster.endpoints;
  const reader = etcd.newClient([eps[target]!]);
  const writer = etcd.newClient(others.map((i) => eps[i]!));
  const p = `cache-failover/${Date.now()}/`;
  await writer.put(`${p}a`, '1');
  await writer.put(`${p}b`, '1');
  const c = cache(reader, p, { heartbeatMs: 0 });
  await c.ready();
  const stale: boolean[] = [];
  const changes: CacheChange[] = [];
  c.on('change', (ch) => changes.push(ch));
  try {
    await etcd.cluster.kill(target);
    await waitFor(() => c.stale, { timeoutMs: 10_000, what: 'the cache to go stale' });
    const put = await writer.put(`${p}a`, '2');
    const created = await writer.put(`${p}c`, '1');
    const del = await writer.delete(`${p}b`);
    // Stale: the last values are still served.
    expect(c.get(`${p}a`)?.text()).toBe('1');
    expect(c.stale).toBe(true);
    c.on('stale', (s) => stale.push(s));

    await etcd.cluster.restart(target);
    await waitFor(() => !c.stale, { timeoutMs: 15_000, what: 'the cache to catch up' });
    await waitFor(() => changes.length >= 3, { timeoutMs: 10_000, what: 'the three missed changes' });
    expect(stale).toEqual([false]);
    // Fresh means caught up with the member serving the watch. Right after its restart that
    // member may still be behind the cluster (seen once in CI on concord-fetch), so the copy is
    // complete once its changes are in, not necessarily at the moment it turns fresh.
    expect(c.get(`${p}a`)?.text() === '2' && c.has(`${p}c`) && !c.has(`${p}b`)).toBe(true);
    expect(changes.map((ch) => [ch.type, ch.key, ch.prev?.text(), ch.next?.text(), ch.revision])).toEqual([
      ['put', `${p}a`, '1', '2', put.header.revision],
      ['put', `${p}c`, undefined, '1', created.header.revision],
      ['delete', `${p}b`, '1', undefined, del.header.revision],
    ]);
    expect(c.revision).toBeGreaterThanOrEqual(del.header.revision);
    // Still live after the catch-up, and nothing was reported twice.
    const after = await writer.put(`${p}d`, '1');
    await waitFor(() => c.has(`${p}d`), { timeoutMs: 5000, what: 'a change after the catch-up' });
    expect(changes.map((ch) => ch.revision)).toEqual([
      put.header.revision,
      created.header.revision,
      del.header.revision,
      after.header.revision,
    ]);
  } finally {
    c.close();
  }
}, 60_000);
