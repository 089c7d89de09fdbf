/**
 * `autoSyncInterval` on a 3-member cluster: a client given one member's endpoint learns the
 * others from the member list, and keeps working when that member is stopped.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { CHANNELS } from '../../src/client/diagnostics.js';
import { waitFor } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 3, name: 'endpoint-sync', client: { timeoutMs: 5000 }, heal: true });

const key = (e: string) => e.replace(/^http:\/\//, '');

test('a client given one endpoint syncs the member list and survives that member stopping', async () => {
  const first = etcd.cluster.endpoints[0]!;
  const synced: unknown[] = [];
  const onSync = (m: unknown) => synced.push(m);
  diagnostics_channel.subscribe(CHANNELS.endpointsSync, onSync);
  try {
    const c = etcd.newClient([first], { autoSyncInterval: 200 });
    await c.put('sync/a', '1');
    await waitFor(() => c.endpoints.length === 3, { timeoutMs: 15_000, what: 'the endpoints synced' });
    expect(c.endpoints.map(key).sort()).toEqual(etcd.cluster.endpoints.map(key).sort());
    expect(synced).toContainEqual({ previous: [first], endpoints: c.endpoints });

    await etcd.cluster.kill(0);
    // A read is retried on the other members (a write in flight when a leader dies may fail
    // with "leader changed", as etcd's do); once it is served, a leader is there for writes.
    expect(await c.getString('sync/a')).toBe('1');
    for (let i = 0; i < 5; i++) await c.put(`sync/k${i}`, String(i));
    expect(await c.getString('sync/k4')).toBe('4');
  } finally {
    diagnostics_channel.unsubscribe(CHANNELS.endpointsSync, onSync);
  }
});

test('autoSyncInterval must be a positive number', () => {
  expect(() => etcd.newClient(undefined, { autoSyncInterval: 0 })).toThrow(
    /autoSyncInterval must be a positive number/,
  );
});
