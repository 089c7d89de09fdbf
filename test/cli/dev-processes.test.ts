/**
 * `concord dev --members 3 --processes`: one `concord serve` process per member, each PID
 * printed with how to kill one; killing one (SIGKILL, the leader if it is named) leaves a
 * cluster that still answers, and SIGTERM to dev stops the others.
 */
import { Client } from '../../src/index.js';
import { startDev } from '../harness/concord.js';
import { waitFor, withTimeout } from '../harness/etcd.js';
import { cliSuite, tempDir } from './cli-helpers.js';

cliSuite();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('dev --processes: three processes; one killed, the cluster still answers', async () => {
  const dir = await tempDir();
  const { dev, base } = await startDev(dir, { extra: ['--processes'] });
  const pids: number[] = [];
  try {
    await waitFor(() => dev.lines.some((l) => l.startsWith('concord: to see a failover')), {
      timeoutMs: 10_000,
      what: 'concord dev --processes to name its members',
    });
    for (const l of dev.lines) {
      const m = /^concord: (dev-\d)\s+pid (\d+)\s+client (\S+)/.exec(l);
      if (m) pids.push(Number(m[2]));
    }
    expect(pids).toHaveLength(3);
    expect(new Set(pids).size).toBe(3);
    expect(pids).not.toContain(dev.child.pid);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    const endpoints = [0, 1, 2].map((i) => `127.0.0.1:${base + 2 * i}`);
    expect(dev.stdout()).toContain(`ready to serve client requests on ${endpoints.join(',')}`);
    // The kill it suggests: one of the members' PIDs.
    const hint = dev.lines.find((l) => l.startsWith('concord: to see a failover'))!;
    const victim = Number(/kill -9 (\d+)/.exec(hint)?.[1]);
    expect(pids).toContain(victim);
    const client = new Client({ endpoints, timeoutMs: 3000 });
    try {
      await client.put('before', '1');
      process.kill(victim, 'SIGKILL');
      await waitFor(() => !alive(victim), { timeoutMs: 5000, what: 'the killed member to be gone' });
      // dev says so, and the cluster answers writes and linearizable reads without it.
      await waitFor(() => dev.stdout().includes(`(pid ${victim}) exited (SIGKILL)`), {
        timeoutMs: 5000,
        what: 'dev to report the exit',
      });
      await waitFor(
        async () => {
          await client.put('after', '2', { timeoutMs: 2000 });
          return true;
        },
        { timeoutMs: 20_000, what: 'a write after the kill' },
      );
      expect((await client.get('after'))?.text()).toBe('2');
      expect((await client.get('before'))?.text()).toBe('1');
    } finally {
      client.close();
    }
    dev.child.kill('SIGTERM');
    expect(await withTimeout(dev.exited, 20_000, 'concord dev to exit')).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  } finally {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}, 120_000);
