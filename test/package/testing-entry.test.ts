/**
 * `concord-kv/testing` itself, as an app imports it: each case is a small ES module written
 * inside the package (so `concord-kv/testing` resolves to this package's build) and run by node
 * (plain JavaScript: Node 20 has no `await using`, so the scripts close in `finally`).
 * Partition and heal, stop and restart, and what is left when a test forgets `close()` or its
 * process is killed: nothing (no member process, no data dir).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../harness/etcd.js';

const root = process.cwd();
const dir = join(root, '.tmp', `testing-entry-${process.pid}`);
const run = promisify(execFile);

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/src/testing/index.js'))) await run('npm', ['run', 'build'], { cwd: root });
  mkdirSync(dir, { recursive: true });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `code` as a module and runs it to its end; its last stdout line, parsed as JSON. */
async function script<T>(name: string, code: string): Promise<T> {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, `import { startTestCluster } from 'concord-kv/testing';\n${code}`);
  const { stdout } = await run(process.execPath, [file], { cwd: dir, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

/** Retries a write the SDK would not retry itself (it may have reached a leader that lost office). */
const RETRY = `
const retry = async (f) => {
  for (let i = 0; ; i++) {
    try { return await f(); } catch (e) { if (i >= 20) throw e; await new Promise((r) => setTimeout(r, 100)); }
  }
};
`;

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

test('partition cuts a leader off both ways, across a restart; heal lets it catch up', async () => {
  const r = await script<{ old: number; now: number; isolatedRead: string; caughtUp: string }>(
    'partition',
    `${RETRY}
const c = await startTestCluster({ members: 3 });
try {
  const client = c.client();
  await retry(() => client.put('k', '1'));
  const old = await c.leader();
  c.partition(old);
  const now = await c.leader();
  const majority = c.client({ endpoints: c.endpoints.filter((_, i) => i !== old) });
  await retry(() => majority.put('k', '2'));
  const isolated = c.client({ endpoints: [c.endpoints[old]], timeoutMs: 1500, maxAttempts: 1 });
  const isolatedRead = await isolated.getString('k').then((v) => 'served ' + v, (e) => 'refused');
  await c.restart(old); // up again, still cut off: it cannot know a leader
  c.heal(old);
  let caughtUp;
  for (let i = 0; i < 100 && caughtUp !== '2'; i++) {
    caughtUp = await isolated.getString('k', { serializable: true }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(JSON.stringify({ old, now, isolatedRead, caughtUp }));
} finally {
  await c.close();
}
`,
  );
  expect(r.now).not.toBe(r.old);
  expect(r.isolatedRead).toBe('refused');
  expect(r.caughtUp).toBe('2');
}, 60_000);

test('stop is graceful, restart brings a member back on its data', async () => {
  const r = await script<{ stopped: boolean; running: boolean; value: string; leaderAfter: number }>(
    'restart',
    `${RETRY}
const c = await startTestCluster({ members: 3 });
try {
  const client = c.client();
  await retry(() => client.put('k', 'kept'));
  const leader = await c.leader();
  await c.stop(leader);
  const stopped = !c.members[leader].running && c.members[leader].pid === undefined;
  await c.restart(leader);
  const own = c.client({ endpoints: [c.endpoints[leader]] });
  const value = await own.getString('k', { serializable: true });
  const leaderAfter = await c.leader();
  console.log(JSON.stringify({ stopped, running: c.members[leader].running, value, leaderAfter }));
} finally {
  await c.close();
}
`,
  );
  expect(r).toMatchObject({ stopped: true, running: true, value: 'kept' });
  expect(r.leaderAfter).toBeGreaterThanOrEqual(0);
}, 60_000);

test('a script that never closes its cluster still exits, and takes the cluster with it', async () => {
  const r = await script<{ pids: number[]; dataDir: string }>(
    'forgotten',
    `
const c = await startTestCluster({ members: 2 });
await c.client().put('k', 'v');
console.log(JSON.stringify({ pids: c.members.map((m) => m.pid), dataDir: c.members[0].dataDir }));
`,
  );
  // The script has exited (run() resolved): its exit hook killed the members (they are gone
  // once reaped) and removed the data.
  expect(existsSync(join(r.dataDir, '..'))).toBe(false);
  await waitFor(() => r.pids.every(gone), { timeoutMs: 5000, what: 'the killed members to be gone' });
}, 60_000);

test('members of a process killed with SIGKILL remove their data and exit', async () => {
  const file = join(dir, 'killed.mjs');
  writeFileSync(
    file,
    `import { startTestCluster } from 'concord-kv/testing';
const c = await startTestCluster({ members: 2 });
console.log(JSON.stringify({ pids: c.members.map((m) => m.pid), dataDir: c.members[0].dataDir }));
setInterval(() => {}, 1000);
`,
  );
  const child: ChildProcess = spawn(process.execPath, [file], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('\n'), { timeoutMs: 30_000, what: 'the script to start its cluster' });
  const r = JSON.parse(out) as { pids: number[]; dataDir: string };
  expect(existsSync(r.dataDir)).toBe(true);
  child.kill('SIGKILL');
  await waitFor(() => r.pids.every(gone) && !existsSync(join(r.dataDir, '..')), {
    timeoutMs: 10_000,
    what: 'the orphaned members to remove their data and exit',
  });
}, 60_000);
