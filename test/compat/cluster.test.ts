/**
 * Cluster and Maintenance services against a 3-member cluster: member list, status, hashKV,
 * alarms. The calls that change the cluster are in cluster-ops.test.ts.
 */
import { EtcdError, FutureRevisionError } from '../../src/index.js';
import { waitFor } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 3, name: 'cluster' });

test('member list names every member with its URLs', async () => {
  // Linearizable: a member that has not yet applied another's publication of its client URLs
  // (each member publishes once it has started) catches up first.
  const { members, header } = await etcd.client.cluster.members({ linearizable: true });
  expect(members).toHaveLength(3);
  expect(header.clusterId).not.toBe(0n);
  expect(members.map((m) => m.clientURLs[0]).sort()).toEqual(
    etcd.cluster.members.map((m) => m.clientUrl).sort(),
  );
  expect(members.map((m) => m.peerURLs[0]).sort()).toEqual(etcd.cluster.members.map((m) => m.peerUrl).sort());
  for (const m of members) {
    expect(typeof m.id).toBe('bigint');
    expect(m.isLearner).toBe(false);
  }
  const local = await etcd.client.cluster.members();
  expect(local.members.map((m) => m.id).sort()).toEqual(members.map((m) => m.id).sort());
});

test('status of each member, and one leader all agree on', async () => {
  // Something to measure: an empty etcd still has a bbolt file of some kilobytes, an empty
  // Concord store has nothing.
  const put = await etcd.client.put('status/k', 'v');
  const statusAll = () =>
    Promise.all(etcd.cluster.endpoints.map((e) => etcd.client.maintenance.status({ endpoint: e })));
  // Status is served locally: a follower may not have applied the put yet.
  await waitFor(async () => (await statusAll()).every((s) => s.header.revision >= put.header.revision), {
    what: 'every member to apply the put',
  });
  const statuses = await statusAll();
  const leaders = new Set(statuses.map((s) => s.leader));
  expect(leaders.size).toBe(1);
  const memberIds = statuses.map((s) => s.header.memberId);
  expect(new Set(memberIds).size).toBe(3);
  expect(memberIds).toContain([...leaders][0]);
  for (const s of statuses) {
    expect(s.version).toMatch(/^3\.\d+\.\d+/);
    expect(s.dbSize).toBeGreaterThan(0n);
    expect(s.raftTerm).toBeGreaterThan(0n);
    expect(s.raftIndex).toBeGreaterThan(0n);
  }
  await expect(etcd.client.maintenance.status({ endpoint: 'nope:1' })).rejects.toThrow(
    /unknown endpoint "nope:1"/,
  );
});

/** etcd 3.4's gateway has no HashKV path (its binding shares /v3/maintenance/hash with Hash). */
const NO_GATEWAY_HASHKV = process.env.CONCORD_TEST_TRANSPORT === 'fetch' && !process.env.ETCD_BIN;

test('hashKV agrees across members at one revision', async () => {
  const { header } = await etcd.client.put('hash/k', 'v');
  if (NO_GATEWAY_HASHKV) {
    // A typed error the caller can act on, not a hang or a wrong answer.
    await expect(etcd.client.maintenance.hashKV(header.revision, { endpoint: 0 })).rejects.toBeInstanceOf(
      EtcdError,
    );
    return;
  }
  // HashKV is served from each member's own keyspace (as etcd's): a member that has not applied
  // the put yet answers "future revision" for a moment.
  const hashes = await Promise.all(
    etcd.cluster.endpoints.map(async (_, i) => {
      for (let tries = 0; ; tries++) {
        try {
          return await etcd.client.maintenance.hashKV(header.revision, { endpoint: i });
        } catch (err) {
          if (!(err instanceof FutureRevisionError) || tries >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }),
  );
  expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
});

test('alarms list is empty, defragment succeeds', async () => {
  expect(await etcd.client.maintenance.alarms()).toEqual([]);
  await etcd.client.maintenance.defragment({ endpoint: 0 });
});
