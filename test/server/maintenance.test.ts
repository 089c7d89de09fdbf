/**
 * Maintenance and lifecycle against a real `concord serve`: status and member list describe
 * the one member; the NOSPACE alarm (a tiny --quota-backend-bytes) refuses writes with etcd's
 * message, shows in alarms and /health, and clears on disarm once space is freed; SIGTERM
 * shuts down gracefully (exit 0) even with a watch stream open.
 */

import path from 'node:path';
import { Client, NoSpaceError } from '../../src/index.js';
import { FileSnapshotStore } from '../../src/storage/index.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';
import { runEtcdctl, withTimeout } from '../harness/etcd.js';

let server: Concord;

beforeAll(async () => {
  ensureServerBuilt();
  server = await startConcord({
    args: ['--quota-backend-bytes', '20000', '--name', 'm1', '--listen-metrics-urls', 'http://127.0.0.1:0'],
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const healthUrl = () => {
  const line = server.proc.lines.find((l) => l.includes('http: '))!;
  return `http://${/http: (\S+?)\)/.exec(line)![1]}/health`;
};

test('status, member list, hashKV describe this member', async () => {
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    const put = await client.put('s/k', 'v');
    const st = await client.maintenance.status();
    expect(st.leader).toBe(st.header.memberId);
    expect(st.raftTerm).toBeGreaterThan(0n);
    expect(st.raftAppliedIndex).toBe(st.raftIndex);
    expect(st.header.revision).toBe(put.header.revision);
    expect(st.dbSize).toBeGreaterThan(0n);
    const members = await client.cluster.members();
    expect(members.members.map((m) => [m.id, m.name])).toEqual([[st.header.memberId, 'm1']]);
    const h = await client.maintenance.hashKV();
    expect(h.header.revision).toBe(put.header.revision);
  } finally {
    client.close();
  }
});

test('NOSPACE: writes refused with etcd message, alarm listed, /health false; disarm after freeing space', async () => {
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    let err: Error | undefined;
    for (let i = 0; i < 100 && !err; i++)
      await client.put(`q/${i}`, 'x'.repeat(1000)).catch((e: unknown) => {
        err = e as Error;
      });
    expect(err).toBeInstanceOf(NoSpaceError);
    expect((err as Error).message).toBe('etcdserver: mvcc: database space exceeded');
    const alarms = await client.maintenance.alarms();
    expect(alarms).toEqual([expect.objectContaining({ alarm: 'nospace' })]);
    const health = await (await fetch(healthUrl())).json();
    expect(health).toEqual({ health: 'false', reason: 'ALARM NOSPACE' });
    // Reads and deletes still work; free space, compact, disarm: writes work again.
    await client.delete({ prefix: 'q/' });
    await client.compact((await client.range({ prefix: 'q/' })).header.revision);
    await client.maintenance.disarm(alarms[0]!);
    expect(await client.maintenance.alarms()).toEqual([]);
    await client.put('q/after', 'ok');
    expect(((await (await fetch(healthUrl())).json()) as { health: string }).health).toBe('true');
  } finally {
    client.close();
  }
});

test('defragment snapshots the member now: a restart replays no WAL entries', async () => {
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    for (let i = 0; i < 20; i++) await client.delete(`d/${i}`);
    const before = await client.maintenance.status();
    const out = await runEtcdctl(['--endpoints', server.endpoint, 'defrag'], { check: true });
    expect(out.stdout).toMatch(/Finished defragmenting etcd member\[/);
    const snaps = await new FileSnapshotStore(path.join(server.dataDir, 'snap')).list();
    expect(snaps[0]!.index).toBeGreaterThanOrEqual(Number(before.raftIndex));
  } finally {
    await client.close();
  }
  await server.restart();
  expect(server.proc.stderr()).toMatch(/recovered snapshot \d+ with 0 WAL entries after it/);
});

test('SIGTERM shuts down gracefully with a watch stream open', async () => {
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    const watch = await client.watch({ prefix: 'term/' });
    await client.put('term/k', 'v');
    const it = watch[Symbol.asyncIterator]();
    expect((await withTimeout(it.next(), 5000, 'an event')).value?.key.toString()).toBe('term/k');
    expect(await server.kill('SIGTERM')).toBe(0);
    expect(server.proc.stderr()).toContain('SIGTERM: shutting down');
    watch.cancel();
  } finally {
    client.close();
  }
});
