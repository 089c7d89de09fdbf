/**
 * Leases on a 3-member etcd cluster when members die: losing quorum loses the lease (the client
 * notices within its TTL and does not crash); losing one member, even the one the client's
 * keepalive stream is on, does not.
 */
import { type Client, type Lease, LeaseLostError } from '../../src/index.js';
import { settlesWithin, sleep, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 3, name: 'lease-quorum', client: { timeoutMs: 5000 }, heal: true });

/** Asserts `lease` is still held after 2 × TTL, on the server as well as on the client. */
async function expectHeldFor2xTTL(c: Client, lease: Lease, key: string): Promise<void> {
  expect(await settlesWithin(lease.lost, 2 * lease.ttl * 1000 + 200)).toBe('pending');
  expect(lease.signal.aborted).toBe(false);
  expect(lease.isLost).toBe(false);
  expect((await c.leaseTimeToLive(lease.id)).ttl).toBeGreaterThan(0);
  // Without keepalives the key would have been deleted after the TTL.
  expect(await c.getString(key)).toBe('v');
}

describe('lease with a 3-member cluster', () => {
  test('quorum lost: lease.lost resolves within TTL + a few seconds and the client survives', async () => {
    const c = etcd.newClient([etcd.cluster.members[0]!.endpoint]);
    const lease = await c.lease({ ttl: 2 });
    await c.put('lq-quorum/k', 'v', { lease });
    await sleep(1000); // a few keepalive rounds on member 0

    await Promise.all([etcd.cluster.kill(1), etcd.cluster.kill(2)]);
    const killedAt = Date.now();
    const err = await withTimeout(lease.lost, 10_000, 'lease.lost after losing quorum');
    const after = Date.now() - killedAt;
    expect(err).toBeInstanceOf(LeaseLostError);
    expect(['keepalive-failed', 'expired']).toContain(err.reason);
    expect(err.leaseId).toBe(lease.id);
    expect(after).toBeLessThanOrEqual(lease.ttl * 1000 + 3000);
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toBe(err);
    expect(c.holding.leases).toBe(0);

    // The client did not crash: once quorum is back it serves calls again.
    await etcd.heal();
    await c.put('lq-quorum/after', 'ok');
    expect(await c.getString('lq-quorum/after')).toBe('ok');
    const again = await c.lease({ ttl: 2 });
    expect((await c.leaseTimeToLive(again.id)).ttl).toBeGreaterThan(0);
    await again.revoke();
  }, 30_000);

  test('killing a follower the client is not connected to does not lose the lease', async () => {
    const leader = await etcd.cluster.leaderIndex();
    const [connected, victim] = [0, 1, 2].filter((i) => i !== leader) as [number, number];
    const c = etcd.newClient([connected, leader, victim].map((i) => etcd.cluster.members[i]!.endpoint));
    const lease = await c.lease({ ttl: 2 });
    await c.put('lq-one/k', 'v', { lease });
    await etcd.cluster.kill(victim);
    await expectHeldFor2xTTL(c, lease, 'lq-one/k');
    await lease.revoke();
  }, 30_000);

  test('killing the follower the keepalive stream is on fails over without losing the lease', async () => {
    const leader = await etcd.cluster.leaderIndex();
    const [connected, other] = [0, 1, 2].filter((i) => i !== leader) as [number, number];
    const c = etcd.newClient([connected, other, leader].map((i) => etcd.cluster.members[i]!.endpoint));
    const lease = await c.lease({ ttl: 2 });
    const r = await c.put('lq-failover/k', 'v', { lease });
    expect(r.header.memberId).toBe(BigInt(etcd.cluster.members[connected]!.id!));
    await sleep(800);
    await etcd.cluster.kill(connected);
    await expectHeldFor2xTTL(c, lease, 'lq-failover/k');
    await lease.revoke();
  }, 30_000);

  test('killing the leader the keepalive stream is on fails over without losing the lease', async () => {
    const leader = await etcd.cluster.leaderIndex();
    const others = [0, 1, 2].filter((i) => i !== leader);
    const c = etcd.newClient([leader, ...others].map((i) => etcd.cluster.members[i]!.endpoint));
    // An election (500–1000 ms here) comes before any keepalive is answered again: on a loaded
    // machine 2 s did not always cover it and the client's failover, and in one full CI run (2,979
    // tests on 2 cores) 4 s did not either. Without failover the lease is lost whatever the TTL.
    const lease = await c.lease({ ttl: 6 });
    const r = await c.put('lq-leader/k', 'v', { lease });
    expect(r.header.memberId).toBe(BigInt(etcd.cluster.members[leader]!.id!));
    await sleep(800);
    await etcd.cluster.kill(leader);
    await expectHeldFor2xTTL(c, lease, 'lq-leader/k');
    await lease.revoke();
  }, 30_000);

  test('pausing (SIGSTOP) the follower the keepalive stream is on: the keeper moves before the lease expires', async () => {
    // A paused member closes nothing and answers nothing; only the unanswered keepalives tell.
    const leader = await etcd.cluster.leaderIndex();
    const [paused, other] = [0, 1, 2].filter((i) => i !== leader) as [number, number];
    const c = etcd.newClient([paused, other, leader].map((i) => etcd.cluster.members[i]!.endpoint));
    const lease = await c.lease({ ttl: 3 });
    const r = await c.put('lq-paused/k', 'v', { lease });
    expect(r.header.memberId).toBe(BigInt(etcd.cluster.members[paused]!.id!));
    await sleep(500);
    await etcd.cluster.pause(paused);
    try {
      // Reads must come from a live member too: the write above was on the paused one.
      const reader = etcd.newClient([other, leader].map((i) => etcd.cluster.members[i]!.endpoint));
      await expectHeldFor2xTTL(reader, lease, 'lq-paused/k');
    } finally {
      await etcd.cluster.resume(paused);
    }
    await lease.revoke();
  }, 30_000);
});
