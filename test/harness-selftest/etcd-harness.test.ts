import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { type EtcdCluster, startEtcd, waitFor } from '../harness/etcd.js';

/** True if a process with this pid exists (our children are reaped by Node once they exit). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('etcd test harness', () => {
  test('single member: etcdctl put/get, close() kills etcd and removes the temp dir', async () => {
    const cluster: EtcdCluster = await startEtcd({ members: 1, name: 'selftest-single' });
    const member = cluster.members[0]!;
    const pid = member.pid;
    try {
      expect(cluster.endpoints).toEqual([member.endpoint]);
      expect(member.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(member.alive).toBe(true);
      expect(processExists(pid)).toBe(true);
      expect(existsSync(member.dataDir)).toBe(true);

      const put = await cluster.etcdctl(['put', 'harness/key', 'value-1']);
      expect(put).toMatchObject({ code: 0, timedOut: false });
      expect(put.stdout.trim()).toBe('OK');
      const get = await cluster.etcdctl(['get', 'harness/key', '--print-value-only']);
      expect(get.code).toBe(0);
      expect(get.stdout.trim()).toBe('value-1');

      expect(await cluster.leaderIndex()).toBe(0);
      expect(member.logs()).toContain('serving client traffic');
    } finally {
      await cluster.close();
    }
    expect(member.alive).toBe(false);
    expect(processExists(pid)).toBe(false);
    expect(existsSync(cluster.dir)).toBe(false);
    await cluster.close(); // idempotent
  }, 25_000);

  test('three members: kill the leader, a new one is elected, the old one restarts and catches up', async () => {
    const cluster = await startEtcd({ members: 3, name: 'selftest-trio' });
    try {
      expect(new Set(cluster.endpoints).size).toBe(3);
      await cluster.etcdctl(['put', 'harness/before', 'b'], { check: true });

      const oldLeader = await cluster.leaderIndex();
      const oldPid = cluster.members[oldLeader]!.pid;
      await cluster.kill(oldLeader);
      expect(cluster.members[oldLeader]!.alive).toBe(false);
      expect(processExists(oldPid)).toBe(false);

      const newLeader = await cluster.leaderIndex({ timeoutMs: 10_000 });
      expect(newLeader).not.toBe(oldLeader);
      expect(cluster.members[newLeader]!.alive).toBe(true);

      // The remaining quorum still accepts writes.
      await cluster.etcdctl(['put', 'harness/during', 'd'], {
        check: true,
        endpoints: cluster.liveEndpoints(),
      });

      await cluster.restart(oldLeader);
      const restarted = cluster.members[oldLeader]!;
      expect(restarted.alive).toBe(true);
      expect(restarted.pid).not.toBe(oldPid);
      await cluster.waitHealthy({ timeoutMs: 10_000 });
      for (let i = 0; i < 3; i++) expect(await cluster.isHealthy(i)).toBe(true);

      // Same data dir (old key kept) and it replicates what was written while it was down.
      await waitFor(
        async () => {
          const r = await cluster.etcdctl(['get', 'harness/', '--prefix', '--consistency=s'], {
            endpoints: [restarted.endpoint],
          });
          return r.code === 0 && r.stdout.includes('harness/before') && r.stdout.includes('harness/during');
        },
        { timeoutMs: 10_000, intervalMs: 200, what: 'restarted member to catch up' },
      );

      // pause/resume a follower: the others keep a leader, the follower is healthy again after resume.
      const leader = await cluster.leaderIndex();
      const follower = (leader + 1) % 3;
      await cluster.pause(follower);
      expect(cluster.members[follower]!.paused).toBe(true);
      expect(cluster.liveEndpoints()).not.toContain(cluster.members[follower]!.endpoint);
      expect(await cluster.isHealthy(follower)).toBe(false);
      await cluster.etcdctl(['put', 'harness/paused', 'p'], {
        check: true,
        endpoints: cluster.liveEndpoints(),
      });
      await cluster.resume(follower);
      await cluster.waitHealthy({ members: [follower], timeoutMs: 10_000 });
    } finally {
      await cluster.close();
    }
    expect(cluster.members.every((m) => !m.alive)).toBe(true);
    expect(existsSync(cluster.dir)).toBe(false);
  }, 25_000);

  test('start failures throw with the members’ logs and leave no temp dir behind', async () => {
    const leftovers = () => readdirSync(os.tmpdir()).filter((f) => f.startsWith('concord-selftest-bad-'));
    const before = leftovers();
    await expect(
      startEtcd({ members: 1, name: 'selftest-bad', extraArgs: ['--no-such-flag'] }),
    ).rejects.toThrow(/etcd failed to start[\s\S]*no-such-flag/);
    expect(leftovers()).toEqual(before);
  }, 25_000);

  test('retries with fresh ports when a chosen port is already in use', async () => {
    // Occupy a port, then make the harness's first free-port probe report exactly that port.
    const blocker = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    const spy = jest
      .spyOn(net.Server.prototype, 'address')
      .mockImplementationOnce(() => ({ address: '127.0.0.1', family: 'IPv4', port: taken }));
    let cluster: EtcdCluster | undefined;
    try {
      cluster = await startEtcd({ members: 1, name: 'selftest-retry' });
      expect(spy).toHaveBeenCalled();
      expect(cluster.members[0]!.clientPort).not.toBe(taken);
      expect(await cluster.isHealthy(0)).toBe(true);
    } finally {
      spy.mockRestore();
      await cluster?.close();
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 25_000);
});
