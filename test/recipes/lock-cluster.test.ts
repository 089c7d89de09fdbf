/**
 * lock() and elect() on a 3-member etcd: contenders on different members exclude each other,
 * and a holder whose member dies keeps the lock (its keepalives fail over) and can still
 * release it, after which the waiter on another member takes over.
 */
import { elect, lock } from '../../recipes/index.js';
import { Client } from '../../src/index.js';
import { type EtcdCluster, sleep, startEtcd, withTimeout } from '../harness/etcd.js';

let cluster: EtcdCluster;
const clients: Client[] = [];
const client = (first: number) => {
  const order = [first, ...[0, 1, 2].filter((i) => i !== first)];
  const c = new Client({ endpoints: order.map((i) => cluster.endpoints[i]!), timeoutMs: 5000 });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  cluster = await startEtcd({ members: 3, name: 'lock-cluster' });
}, 30_000);
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const m of cluster.members) if (!m.alive) await cluster.restart(m.index);
});
afterAll(() => cluster?.close());

test('a holder whose member is killed keeps the lock; the waiter on another member gets it after release', async () => {
  const leader = await cluster.leaderIndex();
  const [f1, f2] = [0, 1, 2].filter((i) => i !== leader) as [number, number];
  const a = client(f1);
  const b = client(f2);
  const held = await lock(a, 'jobs/cluster', { ttl: 3 });
  let bHeld = false;
  const waiting = lock(b, 'jobs/cluster', { ttl: 3 }).then((h) => {
    bHeld = true;
    return h;
  });
  await sleep(300);
  await cluster.kill(f1);
  // Two TTLs with a's member gone: the lock must still be a's.
  await sleep(6000);
  expect(held.signal.aborted).toBe(false);
  expect(bHeld).toBe(false);
  await held.release();
  const bLock = await withTimeout(waiting, 5000, 'b to acquire');
  expect(bLock.fencingToken).toBeGreaterThan(held.fencingToken);
  await bLock.release();
}, 30_000);

test('a leader whose member is killed stays leader; the next candidate takes over on resign', async () => {
  const leader = await cluster.leaderIndex();
  const [f1, f2] = [0, 1, 2].filter((i) => i !== leader) as [number, number];
  const a = elect(client(f1), 'svc/cluster', { value: 'a', ttl: 3 });
  const b = elect(client(f2), 'svc/cluster', { value: 'b', ttl: 3 });
  await a.campaign();
  const bCampaign = b.campaign();
  await cluster.kill(f1);
  await sleep(6000);
  expect(a.signal.aborted).toBe(false);
  expect((await b.leader())?.text()).toBe('a');
  await a.resign();
  await withTimeout(bCampaign, 5000, 'b elected');
  expect((await b.leader())?.text()).toBe('b');
  await b.resign();
}, 30_000);
