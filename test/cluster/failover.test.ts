/**
 * Concord's 3-member cluster under the two faults issue 7 names: the leader killed with -9 in
 * the middle of a write load, and a follower restarted after the others moved far ahead.
 */
import { testClients } from '../harness/clients.js';
import { ensureServerBuilt } from '../harness/concord.js';
import { type EtcdCluster, sleep, startEtcd, waitFor } from '../harness/etcd.js';
import { CONCORD_BIN } from './concord-bin.js';

const clusters: EtcdCluster[] = [];
const clientFor = testClients({ timeoutMs: 5000 });

beforeAll(() => ensureServerBuilt());
afterEach(async () => {
  for (const cl of clusters.splice(0)) await cl.close();
});

/** Every member's HashKV at the same revision, once all have applied it. */
async function hashesAgree(cluster: EtcdCluster, timeoutMs: number): Promise<bigint> {
  let hashes: number[] = [];
  const rev = (await clientFor(cluster.endpoints).range('none')).header.revision;
  await waitFor(
    async () => {
      hashes = await Promise.all(
        cluster.endpoints.map(async (e) => {
          const c = clientFor([e]);
          return (await c.maintenance.hashKV(rev)).hash;
        }),
      );
      return hashes.every((h) => h === hashes[0]);
    },
    { timeoutMs, what: `HashKV at revision ${rev} to agree on every member (last: ${hashes.join(', ')})` },
  );
  return rev;
}

test('kill -9 the leader under write load: a new leader within 4 election timeouts, no acknowledged write lost, the old leader catches up', async () => {
  const electionMs = 1000;
  const cluster = await startEtcd({
    members: 3,
    name: 'kill',
    bin: CONCORD_BIN,
    heartbeatMs: 100,
    electionMs,
  });
  clusters.push(cluster);
  const client = clientFor(cluster.endpoints);
  const acked = new Map<string, bigint>();
  let stop = false;
  let failures = 0;
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const key = `load/${w}/${i}`;
      try {
        const r = await client.put(key, `v${i}`, { timeoutMs: 2000 });
        acked.set(key, r.header.revision);
      } catch {
        failures++;
        await sleep(20);
      }
    }
  });
  await sleep(1000);
  const leader = await cluster.leaderIndex();
  const ackedBeforeKill = acked.size;
  const killedAt = Date.now();
  await cluster.kill(leader, 'SIGKILL');
  // A write through a survivor is the proof that a new leader serves.
  const survivors = cluster.endpoints.filter((_, i) => i !== leader);
  const probe = clientFor(survivors);
  let servedAt = 0;
  for (let i = 0; servedAt === 0; i++) {
    try {
      await probe.put(`probe/${i}`, 'x', { timeoutMs: 300 });
      servedAt = Date.now();
    } catch {
      if (Date.now() - killedAt > 20_000) throw new Error('no new leader within 20 s');
    }
  }
  const took = servedAt - killedAt;
  console.log(
    `leader killed: a survivor served a write after ${took} ms (election timeout ${electionMs} ms); ${ackedBeforeKill} writes acknowledged before, ${failures} failed attempts`,
  );
  // One round takes up to two election timeouts (each member waits a random [T, 2T)) plus the
  // votes; a split vote (both survivors campaigning in the same tick) adds another round, which
  // randomisation makes rare but not impossible: 3105 and 3433 ms were seen, once in 11 runs
  // here and once in CI, against 1.0-1.9 s otherwise.
  expect(took).toBeLessThan(4 * electionMs);
  // The load goes on through the new leader.
  const ackedAtElection = acked.size;
  await waitFor(() => acked.size >= ackedAtElection + 50, {
    timeoutMs: 15_000,
    what: 'the writers to get 50 more writes acknowledged after the election',
  });
  stop = true;
  await Promise.all(writers);

  await cluster.restart(leader);
  await hashesAgree(cluster, 20_000);
  // Every member, the restarted one included, serves linearizable reads again.
  for (const e of cluster.endpoints) await clientFor([e]).range('load/0/0');
  // Every acknowledged write is there, at the revision it was acknowledged with, on every member.
  for (const e of cluster.endpoints) {
    const c = clientFor([e]);
    const stored = new Map<string, bigint>();
    for (const kv of (await c.range({ prefix: 'load/' }, { serializable: true })).kvs)
      stored.set(kv.key.toString(), kv.modRevision);
    const lost = [...acked].filter(([k, rev]) => stored.get(k) !== rev);
    expect(lost).toEqual([]);
  }
}, 90_000);

test('a follower restarted 50,000 entries behind catches up by snapshot', async () => {
  const cluster = await startEtcd({
    members: 3,
    name: 'snap',
    bin: CONCORD_BIN,
    extraArgs: ['--snapshot-count', '2000'],
  });
  clusters.push(cluster);
  const leader = await cluster.leaderIndex();
  const follower = (leader + 1) % 3;
  await cluster.kill(follower, 'SIGKILL');
  const c = clientFor([cluster.endpoints[leader]!]);
  const total = 50_000;
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      for (let i = next++; i < total; i = next++) await c.put(`bulk/${i % 5000}`, `v${i}`);
    }),
  );
  await cluster.restart(follower);
  await hashesAgree(cluster, 60_000);
  expect(cluster.members[follower]!.runLogs()).toMatch(/installed snapshot at index \d+/);
  const count = (
    await clientFor([cluster.endpoints[follower]!]).range(
      { prefix: 'bulk/' },
      { serializable: true, countOnly: true },
    )
  ).count;
  expect(count).toBe(5000n);
}, 300_000);
