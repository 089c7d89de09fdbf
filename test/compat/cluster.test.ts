/**
 * Cluster and Maintenance services against a real 3-member etcd.
 */
import { createHash } from 'node:crypto';
import {
  Client,
  LearnerNotReadyError,
  MemberNotFoundError,
  MemberNotLearnerError,
  PeerURLExistsError,
  UnhealthyClusterError,
} from '../../src/index.js';
import { type EtcdCluster, freePort, sleep, startEtcd } from '../harness/etcd.js';

let cluster: EtcdCluster;
let client: Client;

beforeAll(async () => {
  cluster = await startEtcd({ members: 3, name: 'cluster' });
  client = new Client({ endpoints: cluster.endpoints });
});
afterAll(async () => {
  client?.close();
  await cluster?.close();
});

test('member list names every member with its URLs', async () => {
  const { members, header } = await client.cluster.members();
  expect(members).toHaveLength(3);
  expect(header.clusterId).not.toBe(0n);
  expect(members.map((m) => m.clientURLs[0]).sort()).toEqual(cluster.members.map((m) => m.clientUrl).sort());
  expect(members.map((m) => m.peerURLs[0]).sort()).toEqual(cluster.members.map((m) => m.peerUrl).sort());
  for (const m of members) {
    expect(typeof m.id).toBe('bigint');
    expect(m.isLearner).toBe(false);
  }
  const lin = await client.cluster.members({ linearizable: true });
  expect(lin.members.map((m) => m.id).sort()).toEqual(members.map((m) => m.id).sort());
});

/** etcd refuses membership changes until every member has been connected for 5 s. */
async function settled<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof UnhealthyClusterError) || i > 40) throw e;
      await sleep(250);
    }
  }
}

test('learner: add, refuse to promote while not started, update, remove', async () => {
  const dup = await settled(() => client.cluster.add([cluster.members[1]!.peerUrl], { learner: true })).catch(
    (e) => e,
  );
  expect(dup).toBeInstanceOf(PeerURLExistsError);
  expect(dup.message).toBe('etcdserver: Peer URLs already exists');

  const peer = `http://127.0.0.1:${await freePort()}`;
  const added = await settled(() => client.cluster.add([peer], { learner: true }));
  expect(added.member?.isLearner).toBe(true);
  expect(added.member?.peerURLs).toEqual([peer]);
  expect(added.members).toHaveLength(4);
  const id = added.member!.id;

  // Nobody runs this learner, so it can never be in sync.
  const err = await client.cluster.promote(id).catch((e) => e);
  expect(err).toBeInstanceOf(LearnerNotReadyError);
  expect(err.message).toBe('etcdserver: can only promote a learner member which is in sync with leader');

  const peer2 = `http://127.0.0.1:${await freePort()}`;
  const updated = await client.cluster.update(id, [peer2]);
  expect(updated.members.find((m) => m.id === id)?.peerURLs).toEqual([peer2]);

  const removed = await client.cluster.remove(id);
  expect(removed.members.map((m) => m.id)).not.toContain(id);
  const again = await client.cluster.remove(id).catch((e) => e);
  expect(again).toBeInstanceOf(MemberNotFoundError);
  expect(again.message).toBe('etcdserver: member not found');
});

test('promoting a voter is refused with etcd message', async () => {
  const { members } = await client.cluster.members();
  const err = await client.cluster.promote(members[0]!.id).catch((e) => e);
  expect(err).toBeInstanceOf(MemberNotLearnerError);
  expect(err.message).toBe('etcdserver: can only promote a learner member');
});

test('status of each member, and one leader all agree on', async () => {
  const statuses = await Promise.all(
    cluster.endpoints.map((e) => client.maintenance.status({ endpoint: e })),
  );
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
  await expect(client.maintenance.status({ endpoint: 'nope:1' })).rejects.toThrow(
    /unknown endpoint "nope:1"/,
  );
});

test('hashKV agrees across members at one revision', async () => {
  const { header } = await client.put('hash/k', 'v');
  const hashes = await Promise.all(
    cluster.endpoints.map((_, i) => client.maintenance.hashKV(header.revision, { endpoint: i })),
  );
  expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
});

test('moveLeader transfers leadership', async () => {
  const leader = await cluster.leaderIndex();
  const target = (leader + 1) % 3;
  const targetStatus = await client.maintenance.status({ endpoint: target });
  await client.maintenance.moveLeader(targetStatus.header.memberId, { endpoint: leader });
  expect(await cluster.leaderIndex()).toBe(target);
});

test('alarms list is empty, defragment succeeds', async () => {
  expect(await client.maintenance.alarms()).toEqual([]);
  await client.maintenance.defragment({ endpoint: 0 });
});

test('snapshot streams the backend ending with its SHA-256', async () => {
  const chunks: Buffer[] = [];
  for await (const c of client.maintenance.snapshot({ endpoint: 0 })) chunks.push(c);
  const all = Buffer.concat(chunks);
  expect(all.length).toBeGreaterThan(32);
  // etcd appends the SHA-256 of the db file to the stream.
  const db = all.subarray(0, all.length - 32);
  expect(
    createHash('sha256')
      .update(db)
      .digest()
      .equals(all.subarray(all.length - 32)),
  ).toBe(true);
});
