/**
 * The fault suite, bounded: one run of real Concord processes under every nemesis (kill -9 of
 * the leader, a follower and a quorum; SIGSTOP; partitions through the peer proxy, one-way and
 * flapping; failpoints, power loss at a WAL fsync) with zero violations; then the suite's own proof that it catches bugs:
 * runs against a build with a deliberate bug (CONCORD_MUTATION) must be flagged.
 * `npm run fault -- --time 600` runs the same for longer.
 */
import { execSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { ensureServerBuilt } from '../harness/concord.js';
import { ROOT } from '../harness/fixtures.js';
import { NEMESES, type NemesisName, runFault } from './run.js';

beforeAll(() => {
  ensureServerBuilt();
  // The client processes run dist/fault (plain tsc, like `npm run fault`): always fresh.
  execSync('npx tsc -p tsconfig.fault.json', { cwd: ROOT, stdio: 'inherit' });
}, 120_000);

const run = (seed: number, timeMs: number, nemeses: readonly NemesisName[], mutation?: string) =>
  runFault({
    seed,
    timeMs,
    root: ROOT,
    nemeses,
    name: mutation ?? 'bounded',
    ...(mutation ? { mutation } : {}),
    log: (l) => process.stderr.write(`[fault ${seed}] ${l}\n`),
  });

test('every nemesis at least once: no violation of any checked guarantee', async () => {
  const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
  const r = await run(seed, 40_000, NEMESES);
  const seen = new Set(r.schedule.map((f) => f.nemesis));
  expect([...NEMESES].filter((n) => !seen.has(n))).toEqual([]);
  const report = r.summary.violations.map((v) => `${v.check}: ${v.message}`).join('\n\n');
  expect(`seed ${seed}, evidence in ${r.dir ?? '-'}\n${report}`).toBe(`seed ${seed}, evidence in -\n`);
  // Everything was checked on real traffic.
  for (const k of [
    'linearizability',
    'acknowledged-writes',
    'txns',
    'watch-events',
    'lease-reads',
    'fenced-writes',
  ])
    expect(r.summary.counts[k]).toBeGreaterThan(0);
  expect(new Set(r.hashes).size).toBe(1);
}, 400_000);

/** A run against a deliberate bug; its evidence folder (expected) is removed. */
async function caught(seed: number, timeMs: number, nemeses: readonly NemesisName[], mutation: string) {
  const r = await run(seed, timeMs, nemeses, mutation);
  if (r.dir) await rm(r.dir, { recursive: true, force: true });
  return r;
}

describe('the checkers catch deliberate bugs', () => {
  test('follower-local-reads: a follower cut off from the leader serves stale reads', async () => {
    // A stale read shows only when a client of the cut-off member reads a key the majority has
    // since written; on a loaded CI machine seed 7 once passed its partitions without one. The
    // checkers must flag it in one of these seeds (each caught it in every run alone).
    let checks: string[] = [];
    for (const seed of [7, 9]) {
      const r = await caught(seed, 20_000, ['partition-halves', 'partition-leader'], 'follower-local-reads');
      checks = r.summary.violations.map((v) => v.check);
      if (checks.includes('linearizability')) break;
    }
    expect(checks).toContain('linearizability');
  }, 600_000);

  test('skip-lease-extension-on-leader-change: a new leader drops leases that were kept alive', async () => {
    const r = await caught(8, 20_000, ['kill-leader'], 'skip-lease-extension-on-leader-change');
    expect(r.summary.violations.map((v) => v.check)).toContain('lease');
  }, 300_000);

  test('ack-before-fsync: followers that lose power lose writes the leader acknowledged', async () => {
    // A loss shows only when a power cut lands inside the mutation's window between the
    // acknowledgement and the write; since the WAL writes with O_DSYNC (one threadpool call) that
    // window is hit less often, and seed 10 alone missed it once in two CI runs. Each of these
    // seeds has caught it (docs/performance.md); the checkers must flag it in one of them.
    let checks: string[] = [];
    for (const seed of [10, 11, 16, 20]) {
      const r = await caught(seed, 20_000, ['power-loss'], 'ack-before-fsync');
      // The lost writes are missing from the total order; the broken log may also keep a
      // member from ever serving again.
      checks = r.summary.violations.map((v) => v.check).filter((c) => c === 'lost-write' || c === 'recovery');
      if (checks.length > 0) break;
    }
    expect(checks).not.toEqual([]);
  }, 600_000);
});
