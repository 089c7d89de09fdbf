/**
 * `concord dev --members 3` runs a working local cluster in one command; SIGTERM on a leader
 * hands leadership over before it exits, so the cluster does not wait out an election timeout.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '../../src/index.js';
import { ensureServerBuilt, startDev } from '../harness/concord.js';
import { startEtcd, withTimeout } from '../harness/etcd.js';
import { killAll } from '../harness/fixtures.js';
import { CONCORD_BIN } from './concord-bin.js';

beforeAll(() => ensureServerBuilt());
afterEach(() => killAll());

test('concord dev --members 3 serves a 3-member cluster and stops on SIGTERM', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'concord-dev-'));
  try {
    // dev listens on base .. base + 5: all six must be free (other suites run beside this one).
    const { dev, base } = await startDev(dir);
    const endpoints = [0, 1, 2].map((i) => `127.0.0.1:${base + 2 * i}`);
    expect(dev.lines.join('\n')).toContain(endpoints.join(','));
    const client = new Client({ endpoints });
    try {
      await client.put('dev', 'works');
      for (const e of endpoints) {
        const c = new Client({ endpoints: [e] });
        expect((await c.get('dev'))?.text()).toBe('works');
        c.close();
      }
      expect((await client.cluster.members()).members).toHaveLength(3);
    } finally {
      client.close();
    }
    dev.child.kill('SIGTERM');
    expect(await withTimeout(dev.exited, 15_000, 'concord dev to exit')).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);

test('SIGTERM on the leader hands leadership over: a new leader well within one election timeout', async () => {
  // With a 5 s election timeout, a cluster that had to notice the leader's absence would need
  // more than 5 s; a handed-over leadership takes a few heartbeats. (Starting such a cluster
  // also found ReadIndex contexts colliding between followers: their first reads never came back.)
  const electionMs = 5_000;
  const cluster = await startEtcd({
    members: 3,
    name: 'term',
    bin: CONCORD_BIN,
    heartbeatMs: 100,
    electionMs,
    startTimeoutMs: 45_000,
  });
  try {
    const leader = await cluster.leaderIndex({ timeoutMs: 30_000 });
    const survivors = cluster.endpoints.filter((_, i) => i !== leader);
    const client = new Client({ endpoints: survivors, timeoutMs: 2000 });
    try {
      await client.put('before', '1');
      const t0 = Date.now();
      await cluster.kill(leader, 'SIGTERM');
      let served = 0;
      while (served === 0 && Date.now() - t0 < 2 * electionMs) {
        try {
          await client.put('after', '1', { timeoutMs: 500 });
          served = Date.now();
        } catch {}
      }
      const took = served - t0;
      console.log(`leader stopped with SIGTERM: a survivor served a write after ${took} ms`);
      expect(served).toBeGreaterThan(0);
      expect(took).toBeLessThan(electionMs);
      expect(cluster.members[leader]!.runLogs()).toMatch(/transferred leadership to [0-9a-f]+/);
    } finally {
      client.close();
    }
  } finally {
    await cluster.close();
  }
}, 90_000);
