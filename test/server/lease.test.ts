/**
 * Leases against a real `concord serve`: grant, keepalive, time-to-live, list, revoke, expiry
 * (found by the member's clock, revoked through the proposer: the keys go in one delete
 * revision), and a lease granted before a SIGKILL that still exists and still expires after the
 * restart.
 */
import { Client, type EtcdError, LeaseNotFoundError } from '../../src/index.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';
import { sleep, waitFor } from '../harness/etcd.js';

let server: Concord;
let client: Client;

beforeAll(async () => {
  ensureServerBuilt();
  server = await startConcord();
  client = new Client({ endpoints: [server.endpoint] });
}, 120_000);

afterAll(async () => {
  client?.close();
  await server?.close();
});

test('grant with an ID, duplicate grant, time-to-live with keys, list, revoke, revoke again', async () => {
  const lease = await client.lease({ ttl: 30, id: 0x1234n, keepAlive: false });
  expect(lease.id).toBe(0x1234n);
  await expect(client.lease({ ttl: 30, id: 0x1234n, keepAlive: false })).rejects.toThrow(
    'etcdserver: lease already exists',
  );
  await client.put('l/a', '1', { lease });
  await client.put('l/b', '2', { lease });
  const ttl = await lease.timeToLive({ keys: true });
  expect(ttl.grantedTtl).toBe(30);
  expect(ttl.ttl).toBeGreaterThan(0);
  expect(ttl.ttl).toBeLessThanOrEqual(30);
  expect(ttl.keys.map((k) => k.toString())).toEqual(['l/a', 'l/b']);
  expect(await client.leases()).toContain(0x1234n);
  await lease.revoke();
  expect(await client.get('l/a')).toBeUndefined();
  expect((await client.leaseTimeToLive(0x1234n)).ttl).toBe(-1);
  const again = await client.revokeLease(0x1234n).catch((e: unknown) => e);
  expect(again).toBeInstanceOf(LeaseNotFoundError);
  expect((again as EtcdError).message).toBe('etcdserver: requested lease not found');
});

test('expiry: an abandoned lease is revoked with its keys in one revision; a kept one lives on', async () => {
  const kept = await client.lease({ ttl: 2 });
  const abandoned = await client.lease({ ttl: 2, keepAlive: false });
  await client.put('exp/kept', 'k', { lease: kept });
  await client.put('exp/a', '1', { lease: abandoned });
  await client.put('exp/b', '2', { lease: abandoned });
  const from = (await client.put('exp/marker', 'm')).header.revision;
  const started = Date.now();
  await waitFor(async () => (await client.get('exp/a')) === undefined, {
    timeoutMs: 10_000,
    what: 'lease expiry',
  });
  expect(await client.get('exp/b')).toBeUndefined();
  // Both keys were deleted by one revoke: one revision.
  const watch = await client.watch({ prefix: 'exp/' }, { startRevision: from + 1n });
  const deletes: bigint[] = [];
  for await (const e of watch) {
    if (e.type === 'delete') deletes.push(e.revision);
    if (deletes.length === 2) break;
  }
  expect(deletes[0]).toBe(deletes[1]);
  // Past twice the TTL the kept lease's key is still there.
  await sleep(Math.max(0, 4200 - (Date.now() - started)));
  expect((await client.get('exp/kept'))?.value.toString()).toBe('k');
  expect(kept.isLost).toBe(false);
  await kept.revoke();
}, 30_000);

test('a lease survives a SIGKILL + restart, and still expires afterwards when not kept alive', async () => {
  const lease = await client.lease({ ttl: 3, keepAlive: false });
  await client.put('restart/k', 'v', { lease });
  await server.kill('SIGKILL');
  await server.restart();
  const ttl = await client.leaseTimeToLive(lease.id, { keys: true });
  expect(ttl.grantedTtl).toBe(3);
  expect(ttl.ttl).toBeGreaterThan(0);
  expect(ttl.keys.map((k) => k.toString())).toEqual(['restart/k']);
  await waitFor(async () => (await client.leaseTimeToLive(lease.id)).ttl === -1, {
    timeoutMs: 10_000,
    what: 'the lease to expire after the restart',
  });
  expect(await client.get('restart/k')).toBeUndefined();
}, 40_000);
