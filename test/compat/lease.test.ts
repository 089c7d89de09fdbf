/**
 * Leases against a real single-member etcd: grant, keepalive, keys, listing, revoke, loss when
 * someone else revokes, expiry without keepalive, explicit IDs, one shared keepalive stream,
 * `await using`.
 */
import { type Lease, LeaseLostError } from '../../src/index.js';
import { settlesWithin, sleep, waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { httpGet } from './watch-helpers.js';

const etcd = etcdSuite({ members: 1, name: 'lease', client: { timeoutMs: 5000 } });

/** How many LeaseKeepAlive streams the member has started, from its Prometheus metrics. */
async function keepAliveStreamsStarted(): Promise<number> {
  const text = await httpGet(`${etcd.cluster.members[0]!.clientUrl}/metrics`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith('grpc_server_started_total{') && l.includes('grpc_method="LeaseKeepAlive"'));
  // etcd only prints the series once the method has been called.
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('lease', () => {
  test('grant, keep alive past the TTL, list keys, list leases, revoke deletes keys and aborts signal', async () => {
    const c = etcd.newClient();
    const lease = await c.lease({ ttl: 2 });
    expect(typeof lease.id).toBe('bigint');
    expect(lease.id).toBeGreaterThan(0n);
    expect(lease.ttl).toBe(2);
    expect(lease.signal.aborted).toBe(false);

    await c.put('lease-basic/a', '1', { lease });
    await c.put('lease-basic/b', '2', { lease: lease.id });
    expect((await c.get('lease-basic/a'))?.lease).toBe(lease.id);

    // Twice the TTL: without keepalives the keys would be gone.
    await sleep(4200);
    expect(await c.getString('lease-basic/a')).toBe('1');
    expect(await c.getString('lease-basic/b')).toBe('2');
    expect(lease.signal.aborted).toBe(false);
    expect(lease.isLost).toBe(false);

    const ttl = await lease.timeToLive({ keys: true });
    expect(ttl.id).toBe(lease.id);
    expect(ttl.grantedTtl).toBe(2);
    expect(ttl.ttl).toBeGreaterThan(0);
    expect(ttl.keys.map((k) => k.toString()).sort()).toEqual(['lease-basic/a', 'lease-basic/b']);
    // Without `keys`, none are listed.
    expect((await lease.timeToLive()).keys).toEqual([]);

    expect(await c.leases()).toContain(lease.id);
    expect(c.holding.leases).toBe(1);

    await lease.revoke();
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toBeInstanceOf(LeaseLostError);
    expect((lease.signal.reason as LeaseLostError).reason).toBe('revoked');
    expect(await c.get('lease-basic/a')).toBeUndefined();
    expect(await c.get('lease-basic/b')).toBeUndefined();
    expect(await c.leases()).not.toContain(lease.id);
    expect((await c.leaseTimeToLive(lease.id)).ttl).toBe(-1);
    expect(c.holding.leases).toBe(0);

    // A revoke through the Lease is not a loss.
    expect(await settlesWithin(lease.lost, 1000)).toBe('pending');
    expect(lease.isLost).toBe(false);
  }, 20_000);

  test.each([
    ['another client', 'client'],
    ['etcdctl', 'etcdctl'],
  ])(
    'a lease revoked by %s is lost with reason "expired"',
    async (_what, how) => {
      const c = etcd.newClient();
      const lease = await c.lease({ ttl: 2 });
      await c.put(`lease-lost-${how}/k`, 'v', { lease });
      if (how === 'client') {
        const other = etcd.newClient();
        await other.revokeLease(lease.id);
      } else {
        await etcd.cluster.etcdctl(['lease', 'revoke', lease.id.toString(16)], { check: true });
      }
      const err = await withTimeout(lease.lost, 5000, 'lease.lost after a foreign revoke');
      expect(err).toBeInstanceOf(LeaseLostError);
      expect(err.reason).toBe('expired');
      expect(err.leaseId).toBe(lease.id);
      expect(lease.signal.aborted).toBe(true);
      expect(lease.signal.reason).toBe(err);
      expect(lease.isLost).toBe(true);
      expect(c.holding.leases).toBe(0);
      expect(await c.get(`lease-lost-${how}/k`)).toBeUndefined();
    },
    15_000,
  );

  test('client.revokeLease(id) on a lease the same client keeps ends that Lease as revoked', async () => {
    const c = etcd.newClient();
    const lease = await c.lease({ ttl: 2 });
    await c.put('lease-self-revoke/k', 'v', { lease });
    await c.revokeLease(lease.id);
    expect(lease.signal.aborted).toBe(true);
    expect((lease.signal.reason as LeaseLostError).reason).toBe('revoked');
    expect(c.holding.leases).toBe(0);
    expect(await c.get('lease-self-revoke/k')).toBeUndefined();
    expect(await settlesWithin(lease.lost, 500)).toBe('pending');
  });

  test('keepAlive: false lets the lease expire after its TTL', async () => {
    const c = etcd.newClient();
    const lease = await c.lease({ ttl: 2, keepAlive: false });
    expect(c.holding.leases).toBe(0);
    await c.put('lease-nokeep/k', 'v', { lease });
    expect(await c.getString('lease-nokeep/k')).toBe('v');
    const start = Date.now();
    await waitFor(async () => (await c.get('lease-nokeep/k')) === undefined, {
      timeoutMs: 6000,
      what: 'key of an unkept lease to be deleted',
    });
    // It lived about its TTL (etcd checks expiry every 500 ms), not less.
    expect(Date.now() - start).toBeGreaterThan(1000);
    expect((await c.leaseTimeToLive(lease.id)).ttl).toBe(-1);
    await waitFor(() => lease.signal.aborted, { timeoutMs: 2000, what: 'lease.signal to abort' });
    expect((lease.signal.reason as LeaseLostError).reason).toBe('expired');
  }, 15_000);

  test('keepAliveOnce() renews a lease that is not kept alive; on a revoked lease it throws LeaseLostError', async () => {
    const c = etcd.newClient();
    const lease = await c.lease({ ttl: 3, keepAlive: false });
    await c.put('lease-once/k', 'v', { lease });
    // Let the TTL run down, then renew it by hand: twice the TTL later the key is still there.
    for (let i = 0; i < 3; i++) {
      await sleep(2000);
      expect(await lease.keepAliveOnce()).toBe(lease.ttl);
    }
    expect(await c.getString('lease-once/k')).toBe('v');
    // The Lease object knows it was renewed: past the first TTL it has not ended.
    expect(lease.signal.aborted).toBe(false);
    expect(c.holding.leases).toBe(0);
    const other = etcd.newClient();
    await other.revokeLease(lease.id);
    const err = await lease.keepAliveOnce().catch((e) => e);
    expect(err).toBeInstanceOf(LeaseLostError);
    expect(err.reason).toBe('expired');
    expect(lease.signal.aborted).toBe(true);
    expect(await withTimeout(lease.lost, 1000, 'lost')).toBe(err);
  }, 15_000);

  test('a lease granted with an explicit id', async () => {
    const c = etcd.newClient();
    const id = 0x1000_0000_0000n + BigInt(Math.floor(Math.random() * 1_000_000));
    const lease = await c.lease({ ttl: 5, id });
    expect(lease.id).toBe(id);
    expect((await c.leaseTimeToLive(id)).ttl).toBeGreaterThan(0);
    expect(await c.leases()).toContain(id);
    await c.put('lease-explicit/k', 'v', { lease: id });
    expect((await c.get('lease-explicit/k'))?.lease).toBe(id);
    await lease.revoke();
    expect(await c.get('lease-explicit/k')).toBeUndefined();
  });

  test('all kept leases of a client share one LeaseKeepAlive stream (on fetch, each keepalive is a call)', async () => {
    const c = etcd.newClient();
    await c.get('lease-shared/warmup'); // open the channel first
    const before = await keepAliveStreamsStarted();
    const leases: Lease[] = [];
    for (let i = 0; i < 3; i++) leases.push(await c.lease({ ttl: 2 }));
    for (const [i, l] of leases.entries()) await c.put(`lease-shared/${i}`, 'v', { lease: l });
    // Several keepalive rounds: the leases outlive their TTL.
    await sleep(3000);
    for (const [i, l] of leases.entries()) {
      expect(l.signal.aborted).toBe(false);
      expect(await c.getString(`lease-shared/${i}`)).toBe('v');
    }
    expect(c.holding.leases).toBe(3);
    const started = (await keepAliveStreamsStarted()) - before;
    // gRPC: one stream for the three leases. Fetch: one call per keepalive, each of the three
    // leases renewed at least once.
    if (c.transport === 'fetch') expect(started).toBeGreaterThanOrEqual(3);
    else expect(started).toBe(1);
    for (const l of leases) await l.revoke();
  }, 15_000);

  test('`await using` revokes the lease at the end of the block', async () => {
    const c = etcd.newClient();
    let id: bigint;
    let signal: AbortSignal;
    {
      await using lease = await c.lease({ ttl: 10 });
      id = lease.id;
      signal = lease.signal;
      await c.put('lease-using/k', 'v', { lease });
      expect(await c.getString('lease-using/k')).toBe('v');
    }
    expect(signal.aborted).toBe(true);
    expect(await c.get('lease-using/k')).toBeUndefined();
    expect((await c.leaseTimeToLive(id)).ttl).toBe(-1);
    expect(c.holding.leases).toBe(0);
  });
});
