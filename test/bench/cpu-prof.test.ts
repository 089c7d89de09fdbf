/**
 * `npm run bench -- --cpu-prof DIR`: each Concord member runs under `node --cpu-prof` and, when
 * the run ends, is stopped with SIGTERM (not SIGKILL) so that it writes its profile.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureServerBuilt } from '../harness/concord.js';
import { ROOT } from '../harness/fixtures.js';

const BENCH = path.join(ROOT, 'dist/bench/api.js');

let dir: string;
beforeAll(() => {
  ensureServerBuilt();
  dir = mkdtempSync(path.join(os.tmpdir(), 'concord-bench-prof-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('--cpu-prof writes one profile per Concord member', async () => {
  const profiles = path.join(dir, 'profiles');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      BENCH,
      ...['--target', 'concord', '--members', '1', '--seconds', '0.5', '--warmup', '0'],
      ...['--cases', 'put, 1 client', '--json', '--cpu-prof', profiles],
    ],
    { cwd: ROOT, timeout: 90_000 },
  );
  const report = JSON.parse(stdout) as { targets: { concord: { cases: Record<string, { rate: number }> } } };
  expect(report.targets.concord.cases['put, 1 client']!.rate).toBeGreaterThan(0);
  const files = readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile'));
  expect(files).toHaveLength(1);
  const profile = JSON.parse(readFileSync(path.join(profiles, files[0]!), 'utf8')) as {
    nodes: { callFrame: { url: string } }[];
  };
  // The member's own code ran under the profiler, not just Node's start-up.
  expect(profile.nodes.some((n) => n.callFrame.url.includes('/dist/src/server/'))).toBe(true);
}, 120_000);
