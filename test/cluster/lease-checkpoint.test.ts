/**
 * Lease checkpoints (etcd's --experimental-enable-lease-checkpoint): the leader records each
 * lease's remaining TTL through Raft, so a new leader restarts a lease from what was left of it.
 * Without them a new leader grants every lease its full TTL again, and a lease nobody keeps
 * alive outlives its TTL for as long as leaders keep changing. Both ways are run here on the
 * same schedule: grant a 30 s lease without keepalives, wait, kill the leader, ask the new one.
 */
import { Client } from '../../src/index.js';
import { ensureServerBuilt } from '../harness/concord.js';
import { type EtcdCluster, sleep, startEtcd } from '../harness/etcd.js';
import { CONCORD_BIN } from './concord-bin.js';

const clusters: EtcdCluster[] = [];
const clients: Client[] = [];

beforeAll(() => ensureServerBuilt());
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(clusters.map((c) => c.close()));
});

/** The lease's TTL as the new leader reports it, after 8 s and a leader crash. */
async function ttlAfterLeaderCrash(name: string, extraArgs: string[]): Promise<number> {
  const cluster = await startEtcd({ members: 3, name, bin: CONCORD_BIN, extraArgs });
  clusters.push(cluster);
  const client = new Client({ endpoints: cluster.endpoints, timeoutMs: 15_000 });
  clients.push(client);
  const lease = await client.lease({ ttl: 30, keepAlive: false });
  await client.put('ckpt/key', 'v', { lease });
  await sleep(8000);
  const leader = await cluster.leaderIndex();
  await cluster.kill(leader);
  await cluster.leaderIndex({ timeoutMs: 30_000 });
  const ttl = await lease.timeToLive();
  expect(ttl.ttl).toBeGreaterThan(0);
  await cluster.close();
  return Number(ttl.ttl);
}

test('with checkpoints a new leader continues the lease from its remaining TTL', async () => {
  // A checkpoint every second: one taken 4–8 s after the grant leaves at most 26 s (+ the
  // election timeout the new leader adds to every lease).
  const ttl = await ttlAfterLeaderCrash('ckpt-on', ['--experimental-lease-checkpoint-interval', '1s']);
  expect(ttl).toBeLessThanOrEqual(27);
}, 120_000);

test("without checkpoints a new leader restarts the lease at its full TTL (etcd's default)", async () => {
  const ttl = await ttlAfterLeaderCrash('ckpt-off', ['--experimental-enable-lease-checkpoint=false']);
  expect(ttl).toBeGreaterThanOrEqual(29);
}, 120_000);
