/**
 * Concord as a 3-member Raft cluster, as real processes started with etcd's flags: every member
 * serves reads and writes (a follower forwards), leases are kept alive through any member, and
 * MemberList shows every member with the client URLs it published.
 */
import { Client } from '../../src/index.js';
import { ensureServerBuilt } from '../harness/concord.js';
import { type EtcdCluster, startEtcd, waitFor } from '../harness/etcd.js';
import { CONCORD_BIN } from './concord-bin.js';

let cluster: EtcdCluster;
const clients: Client[] = [];
const clientOn = (i: number) => {
  const c = new Client({ endpoints: [cluster.endpoints[i]!] });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  ensureServerBuilt();
  cluster = await startEtcd({ members: 3, name: 'raft', bin: CONCORD_BIN });
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.close();
});

test('writes through any member are read back from every member', async () => {
  for (let i = 0; i < 3; i++) await clientOn(i).put(`k/${i}`, `from-${i}`);
  for (let i = 0; i < 3; i++) {
    const c = clientOn(i);
    const r = await c.range({ prefix: 'k/' });
    expect(r.kvs.map((kv) => `${kv.key}=${kv.text()}`)).toEqual(['k/0=from-0', 'k/1=from-1', 'k/2=from-2']);
  }
  // Serializable reads on a follower see a write once it has applied it.
  const rev = (await clientOn(0).put('k/s', 'x')).header.revision;
  for (let i = 0; i < 3; i++) {
    const c = clientOn(i);
    await waitFor(async () => (await c.range('k/s', { serializable: true })).header.revision >= rev, {
      timeoutMs: 5000,
      what: `member ${i} to apply revision ${rev}`,
    });
  }
});

test('MemberList shows every member with its published client URL', async () => {
  const c = clientOn(1);
  await waitFor(async () => (await c.cluster.members()).members.every((m) => m.clientURLs.length > 0), {
    timeoutMs: 5000,
    what: 'every member to publish its client URL',
  });
  const list = await c.cluster.members();
  expect(list.members.map((m) => m.clientURLs[0]).sort()).toEqual(
    cluster.members.map((m) => m.clientUrl).sort(),
  );
  expect(list.members.map((m) => m.name).sort()).toEqual(cluster.members.map((m) => m.name).sort());
});

test('a lease granted and kept alive through a follower outlives its TTL, then expires on the leader', async () => {
  const leader = await cluster.leaderIndex();
  const follower = (leader + 1) % 3;
  const c = new Client({ endpoints: [cluster.endpoints[follower]!] });
  const lease = await c.lease({ ttl: 2 });
  await c.put('leased', 'v', { lease: lease.id });
  await new Promise((r) => setTimeout(r, 3500));
  expect((await c.range('leased')).kvs).toHaveLength(1);
  const ttl = await c.leaseTimeToLive(lease.id);
  expect(ttl.ttl).toBeGreaterThan(0);
  expect(ttl.grantedTtl).toBe(2);
  // Closing the client stops the keepalives without revoking.
  c.close();
  await waitFor(async () => (await clientOn(leader).range('leased')).kvs.length === 0, {
    timeoutMs: 8000,
    what: 'the lease to expire once no longer kept alive',
  });
}, 30_000);

test('a kept-alive lease survives the election that follows a leader crash', async () => {
  const c = new Client({ endpoints: cluster.endpoints });
  clients.push(c);
  // The client counts a lease lost when no keepalive is acknowledged within its TTL (as Go's
  // clientv3 does): the TTL leaves room for an election on a loaded machine (at 2 s it was
  // lost in one CI run, and in one of four local runs beside three busy loops).
  const lease = await c.lease({ ttl: 5 });
  await c.put('survivor', 'v', { lease: lease.id });
  const leader = await cluster.leaderIndex();
  await cluster.kill(leader, 'SIGKILL');
  // Longer than the TTL: the new leader extended the lease and the keepalives found it.
  await new Promise((r) => setTimeout(r, 6000));
  // The reason, if lost, says whether the client gave up or the server dropped the lease.
  expect(lease.isLost ? (await lease.lost).message : 'kept').toBe('kept');
  const other = clientOn((leader + 1) % 3);
  expect((await other.range('survivor')).kvs).toHaveLength(1);
  expect((await other.leaseTimeToLive(lease.id)).ttl).toBeGreaterThan(0);
  await lease.revoke();
  expect((await other.range('survivor')).kvs).toHaveLength(0);
  await cluster.restart(leader);
}, 40_000);

test('/metrics says which member leads: etcd_server_is_leader is 1 on the leader only', async () => {
  const leader = await cluster.leaderIndex();
  const isLeader = await Promise.all(
    cluster.endpoints.map(async (e) => {
      const res = await fetch(`${e.startsWith('http') ? e : `http://${e}`}/metrics`);
      const m = /^etcd_server_is_leader (\S+)$/m.exec(await res.text());
      return m ? Number(m[1]) : undefined;
    }),
  );
  expect(isLeader).toEqual([0, 1, 2].map((i) => (i === leader ? 1 : 0)));
});
