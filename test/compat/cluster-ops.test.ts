/**
 * The calls that change a 3-member cluster or move its data: member add (learner), promote,
 * update, remove, moveLeader, snapshot.
 */
import { createHash } from 'node:crypto';
import {
  LearnerNotReadyError,
  MemberNotFoundError,
  MemberNotLearnerError,
  PeerURLExistsError,
  UnhealthyClusterError,
} from '../../src/index.js';
import { freePort, sleep } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 3, name: 'cluster-ops' });

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
  const dup = await settled(() =>
    etcd.client.cluster.add([etcd.cluster.members[1]!.peerUrl], { learner: true }),
  ).catch((e) => e);
  expect(dup).toBeInstanceOf(PeerURLExistsError);
  expect(dup.message).toBe('etcdserver: Peer URLs already exists');

  const peer = `http://127.0.0.1:${await freePort()}`;
  const added = await settled(() => etcd.client.cluster.add([peer], { learner: true }));
  expect(added.member?.isLearner).toBe(true);
  expect(added.member?.peerURLs).toEqual([peer]);
  expect(added.members).toHaveLength(4);
  const id = added.member!.id;

  // Nobody runs this learner, so it can never be in sync.
  const err = await etcd.client.cluster.promote(id).catch((e) => e);
  expect(err).toBeInstanceOf(LearnerNotReadyError);
  expect(err.message).toBe('etcdserver: can only promote a learner member which is in sync with leader');

  const peer2 = `http://127.0.0.1:${await freePort()}`;
  const updated = await etcd.client.cluster.update(id, [peer2]);
  expect(updated.members.find((m) => m.id === id)?.peerURLs).toEqual([peer2]);

  const removed = await etcd.client.cluster.remove(id);
  expect(removed.members.map((m) => m.id)).not.toContain(id);
  const again = await etcd.client.cluster.remove(id).catch((e) => e);
  expect(again).toBeInstanceOf(MemberNotFoundError);
  expect(again.message).toBe('etcdserver: member not found');
});

test('promoting a voter is refused with etcd message', async () => {
  const { members } = await etcd.client.cluster.members();
  const err = await etcd.client.cluster.promote(members[0]!.id).catch((e) => e);
  expect(err).toBeInstanceOf(MemberNotLearnerError);
  expect(err.message).toBe('etcdserver: can only promote a learner member');
});

test('moveLeader transfers leadership', async () => {
  const leader = await etcd.cluster.leaderIndex();
  const target = (leader + 1) % 3;
  const targetStatus = await etcd.client.maintenance.status({ endpoint: target });
  await etcd.client.maintenance.moveLeader(targetStatus.header.memberId, { endpoint: leader });
  expect(await etcd.cluster.leaderIndex()).toBe(target);
});

test('snapshot streams the backend ending with its SHA-256', async () => {
  const chunks: Buffer[] = [];
  for await (const c of etcd.client.maintenance.snapshot({ endpoint: 0 })) chunks.push(c);
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
