/**
 * Runtime membership on real Concord processes: a cluster grows from 1 to 3 to 5 members, each
 * joining as a learner (`--initial-cluster-state existing`) and promoted once caught up; then
 * the leader is removed (it stops, saying why) and the cluster shrinks back to 3 — all under a
 * write load, with no acknowledged write lost and HashKV agreeing at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LearnerNotReadyError } from '../../src/index.js';
import { testClients } from '../harness/clients.js';
import { ensureServerBuilt } from '../harness/concord.js';
import { freePort, sleep, waitFor, withTimeout } from '../harness/etcd.js';
import { killAll } from '../harness/fixtures.js';
import { type Proc, startMember } from './members.js';

let dir: string;
// Membership changes wait for an apply (and removing the leader for a handover): on a loaded
// machine that can take seconds.
const clientFor = testClients({ timeoutMs: 15_000 });

beforeAll(async () => {
  ensureServerBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-membership-'));
});
afterAll(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

const start = (p: Proc, cluster: Proc[], state: 'new' | 'existing') => startMember(dir, p, cluster, state);

test('grow 1 → 3 → 5 with learners promoted, remove the leader, shrink to 3, under load', async () => {
  const procs: Proc[] = [];
  for (let i = 0; i < 5; i++)
    procs.push({
      name: `m${i}`,
      client: `127.0.0.1:${await freePort()}`,
      peer: `http://127.0.0.1:${await freePort()}`,
    });
  const all = procs.map((p) => p.client);
  await start(procs[0]!, [procs[0]!], 'new');
  const admin = clientFor(all);
  await admin.put('hello', 'world');

  const acked = new Map<string, bigint>();
  let stop = false;
  const load = clientFor(all);
  const writers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      try {
        const r = await load.put(`load/${w}/${i}`, `v${i}`, { timeoutMs: 3000 });
        acked.set(`load/${w}/${i}`, r.header.revision);
      } catch {
        await sleep(20);
      }
    }
  });

  const members = [procs[0]!];
  for (let i = 1; i < 5; i++) {
    const p = procs[i]!;
    const added = await admin.cluster.add([p.peer], { learner: true });
    expect(added.member?.isLearner).toBe(true);
    members.push(p);
    await start(p, members, 'existing');
    // Promotion is refused until the learner has caught up; then it becomes a voter.
    await waitFor(
      async () => {
        try {
          await admin.cluster.promote(added.member!.id);
          return true;
        } catch (e) {
          if (e instanceof LearnerNotReadyError) return false;
          throw e;
        }
      },
      { timeoutMs: 20_000, what: `${p.name} to be promoted` },
    );
    const list = (await admin.cluster.members({ linearizable: true })).members;
    expect(list).toHaveLength(i + 1);
    expect(list.every((m) => !m.isLearner)).toBe(true);
    await sleep(300);
  }

  // Remove the leader: it hands leadership over, is removed, says so and exits.
  const leaderId = (await admin.maintenance.status()).leader;
  await admin.cluster.remove(leaderId);
  expect((await admin.cluster.members({ linearizable: true })).members.map((m) => m.id)).not.toContain(
    leaderId,
  );
  const said = `member ${leaderId.toString(16)} has been permanently removed from the cluster`;
  await waitFor(() => members.some((m) => m.proc!.stderr().includes(said)), {
    timeoutMs: 10_000,
    what: 'the removed leader to say it was removed',
  });
  const gone = members.find((m) => m.proc!.stderr().includes(said))!;
  expect(await withTimeout(gone.proc!.exited, 10_000, 'the removed leader to exit')).toBe(0);
  let remaining = members.filter((m) => m !== gone);

  // Shrink to 3: remove one more (a follower this time).
  const victim = remaining[remaining.length - 1]!;
  const victimId = (await clientFor([victim.client]).maintenance.status()).header.memberId;
  await admin.cluster.remove(victimId);
  await withTimeout(victim.proc!.exited, 10_000, 'the removed follower to exit');
  remaining = remaining.filter((m) => m !== victim);
  expect((await admin.cluster.members({ linearizable: true })).members).toHaveLength(3);

  await sleep(500);
  stop = true;
  await Promise.all(writers);
  expect(acked.size).toBeGreaterThan(50);

  // Every acknowledged write on every remaining member, and their keyspaces agree.
  const rev = (await clientFor(remaining.map((m) => m.client)).put('final', 'x')).header.revision;
  await waitFor(
    async () => {
      const hashes = await Promise.all(
        remaining.map(async (m) => (await clientFor([m.client]).maintenance.hashKV(rev)).hash),
      );
      return hashes.every((h) => h === hashes[0]);
    },
    { timeoutMs: 15_000, what: 'HashKV to agree on the remaining members' },
  );
  for (const m of remaining) {
    const c = clientFor([m.client]);
    const stored = new Map<string, bigint>();
    for (const kv of (await c.range({ prefix: 'load/' }, { serializable: true })).kvs)
      stored.set(kv.key.toString(), kv.modRevision);
    expect([...acked].filter(([k, r]) => stored.get(k) !== r)).toEqual([]);
  }
}, 180_000);
