/**
 * Hostile input must never crash, stall or split a Concord cluster (issue 23). On a 3-member
 * cluster: first every case of test/fuzz/regressions.json (inputs that once did), then a few
 * thousand fuzzed gateway and gRPC cases (input-fuzz.ts) with a fixed seed and a random one,
 * a cluster check every 100 cases; then each member is restarted on its data dir and must
 * agree with the others again. A new failure is printed with its seed and bytes and added to
 * regressions.json (commit it with the fix). Long runs: input-cli.ts.
 */
import path from 'node:path';
import { ensureServerBuilt } from '../harness/concord.js';
import { ensureBuilt, ROOT } from '../harness/fixtures.js';
import {
  describeCase,
  describeFailure,
  type Failure,
  FuzzCluster,
  formatStats,
  loadCase,
  readRegressions,
  replayRegression,
  runFuzz,
  saveRegression,
} from './input-fuzz.js';

const REGRESSIONS = path.join(__dirname, 'regressions.json');
const FIXED_SEED = 23;
/** Per seed; ~25–40 cases/s on two loaded cores. */
const CASES = Number(process.env.FUZZ_CASES ?? 1000);
const RANDOM_SEED = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 31);

let fz: FuzzCluster | undefined;
let round = 1;

async function cluster(): Promise<FuzzCluster> {
  fz ??= await FuzzCluster.start({ root: ROOT });
  return fz;
}

/** Members a case killed come back on their data dirs; a cluster that does not recover is replaced. */
async function recover(): Promise<void> {
  if (!fz || (await fz.revive())) return;
  await fz.close();
  fz = undefined;
}

beforeAll(async () => {
  ensureBuilt();
  ensureServerBuilt();
  await cluster();
}, 120_000);

afterAll(async () => {
  await fz?.close();
});

test('the regression corpus does not hurt the cluster', async () => {
  const { regressions } = readRegressions(REGRESSIONS);
  const failed: string[] = [];
  for (const r of regressions) {
    const problem = await replayRegression(await cluster(), r, round++);
    if (!problem) continue;
    const last = r.cases[r.cases.length - 1]!;
    failed.push(`${r.id}\n  ${problem.kind}: ${problem.message}\n${describeCase(loadCase(last), r.origin)}`);
    await recover();
  }
  if (failed.length > 0)
    throw new Error(
      `${failed.length} of ${regressions.length} regressions failed:\n\n${failed.join('\n\n')}`,
    );
}, 300_000);

test.each([
  ['fixed', FIXED_SEED],
  ['random', RANDOM_SEED],
])(
  '%s seed: fuzzed gateway and gRPC requests leave every member alive and in agreement',
  async (_, seed) => {
    const logs: string[] = [];
    const report = await runFuzz({
      root: ROOT,
      seed,
      target: 'both',
      cases: CASES,
      cluster: await cluster(),
      restartAtEnd: false,
      // A few failures per run at most: each one costs a fresh cluster and an isolation.
      maxFailures: 3,
      isolateMs: 30_000,
      log: (l) => logs.push(l),
      onFailure: (f: Failure) => saveRegression(REGRESSIONS, f),
    });
    fz = report.cluster;
    if (report.failures.length > 0)
      throw new Error(
        `seed ${seed} (rerun with FUZZ_SEED=${seed}, or input-cli.ts --seed ${seed} --case N): ${report.failures.length} failure(s), saved to test/fuzz/regressions.json\n\n${report.failures.map(describeFailure).join('\n\n')}\n\n${formatStats(report.stats)}`,
      );
    expect(report.stats.cases).toBeGreaterThan(CASES * 0.9);
  },
  300_000,
);

test('every member restarts on its data dir and agrees with the others', async () => {
  const problem = await (await cluster()).restartAll(round++);
  expect(problem).toBeUndefined();
}, 180_000);
