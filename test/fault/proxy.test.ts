/**
 * The peer proxy on a real cluster: it tells which member opened each peer connection, so a
 * one-way cut (the leader can hear but not speak) makes the others elect a new leader, and a
 * heal lets the old one rejoin.
 */
import path from 'node:path';
import { Client } from '../../src/index.js';
import { ensureServerBuilt } from '../harness/concord.js';
import { type EtcdCluster, freePort, startEtcd, waitFor } from '../harness/etcd.js';
import { ROOT } from '../harness/fixtures.js';
import { PeerProxies } from './proxy.js';

let cluster: EtcdCluster | undefined;
const proxies = new PeerProxies(() => cluster?.members.map((m) => (m.alive ? m.pid : -1)) ?? []);

beforeAll(() => ensureServerBuilt());
afterAll(async () => {
  await cluster?.close();
  await proxies.close();
});

test('a one-way cut from the leader: the others elect a new leader; healed, all serve again', async () => {
  cluster = await startEtcd({
    members: 3,
    name: 'proxy',
    bin: path.join(ROOT, 'test/harness/concord-as-etcd'),
    heartbeatMs: 100,
    electionMs: 1000,
    advertisePeerUrl: async (i, peerPort) => proxies.add(i, await freePort(), peerPort),
  });
  const c = cluster;
  // Every member dials the others' proxies.
  expect(c.members.map((m) => m.advertisedPeerUrl)).not.toEqual(c.members.map((m) => m.peerUrl));
  const old = await c.leaderIndex();
  for (const o of [0, 1, 2]) if (o !== old) proxies.cut(old, o);
  expect(proxies.down).toEqual([0, 1, 2].filter((o) => o !== old).map((o) => `${old}>${o}`));
  const others = c.endpoints.filter((_, i) => i !== old);
  const client = new Client({ endpoints: others, timeoutMs: 2000 });
  try {
    await waitFor(
      async () => {
        await client.put('after-cut', 'x');
        return (await c.leaderIndex()) !== old;
      },
      { timeoutMs: 30_000, what: 'a new leader among the members the old one cannot reach' },
    );
    proxies.heal();
    for (const e of c.endpoints) {
      const one = new Client({ endpoints: [e], timeoutMs: 2000 });
      try {
        await waitFor(async () => (await one.get('after-cut'))?.text() === 'x', {
          timeoutMs: 30_000,
          what: `${e} to serve the write made during the cut`,
        });
      } finally {
        one.close();
      }
    }
  } finally {
    client.close();
  }
  expect(proxies.unknownSources).toBe(0);
}, 120_000);
