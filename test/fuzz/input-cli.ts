/**
 * `npm run fuzz:input -- [--time SECONDS] [--seed N] [--target gateway|grpc|both]`: hostile-input
 * fuzzing (input-fuzz.ts) of a 3-member Concord cluster until the time is spent (default 300 s),
 * then every member restarted on its data dir. test/fuzz/regressions.json is replayed first
 * (`--no-regressions` skips it). Prints case counts per route, per mutation and per outcome.
 * A failure is printed with its seed, case index and exact bytes and added to regressions.json
 * (unless `--no-save`); the exit code is then 1. `--max-failures N` goes on after a failure
 * (members brought back, or a fresh cluster) until N different ones are found.
 *
 * Narrowing: `--mutations a,b` (families, see GATEWAY_MUTATIONS and GRPC_MUTATIONS), `--routes
 * x,y` (substrings of gateway or gRPC paths), `--batch N` (cases between checks, 100),
 * `--concurrency N` (cases in flight, 4), `--max-request-bytes N` (the cluster's, 65536).
 * One case again: `--seed S --case N` (with the same --target and narrowing) sends only case N
 * of seed S, as a failure prints it, and checks the cluster after it.
 *
 * Compiled with tsconfig.fuzz.json into dist/fuzz; the server is the repository's dist/ (the
 * current directory is the repository).
 */
import path from 'node:path';
import {
  describeCase,
  describeFailure,
  FuzzCluster,
  formatStats,
  generateCases,
  limitsFor,
  MAX_REQUEST_BYTES,
  outcomeKey,
  readRegressions,
  replayRegression,
  runFuzz,
  saveRegression,
  type Target,
} from './input-fuzz.js';

/** The last occurrence wins, so `npm run fuzz:input -- --time 60` overrides a script's own. */
function arg(name: string): string | undefined {
  const i = process.argv.lastIndexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(name);

async function main(): Promise<number> {
  const root = process.cwd();
  const regressionsFile = path.join(root, 'test/fuzz/regressions.json');
  const timeMs = Number(arg('--time') ?? '300') * 1000;
  const seed = arg('--seed') !== undefined ? Number(arg('--seed')) : Math.floor(Math.random() * 2 ** 31);
  const target = (arg('--target') ?? 'both') as Target | 'both';
  if (!['gateway', 'grpc', 'both'].includes(target))
    throw new Error(`--target gateway|grpc|both, not ${target}`);
  const maxRequestBytes = Number(arg('--max-request-bytes') ?? MAX_REQUEST_BYTES);
  const log = (l: string) => console.log(l);
  const filter = {
    ...(arg('--mutations') ? { mutations: arg('--mutations')!.split(',') } : {}),
    ...(arg('--routes') ? { routes: arg('--routes')!.split(',') } : {}),
  };
  const narrowed = Object.keys(filter).length > 0 ? filter : undefined;

  const one = arg('--case');
  if (one !== undefined) {
    const [c] = generateCases(seed, target, Number(one), 1, limitsFor(maxRequestBytes), filter);
    const origin = { seed, index: Number(one), target, ...(narrowed ? { filter: narrowed } : {}) };
    console.log(describeCase(c!, origin));
    const fz = await FuzzCluster.start({ root, maxRequestBytes });
    try {
      const o = await fz.send(c!);
      console.log(`outcome: ${outcomeKey(o)}${o.kind === 'grpc' ? ` ${o.message}` : ''}`);
      await new Promise((r) => setTimeout(r, 500));
      const p = await fz.check(1);
      console.log(p ? `PROBLEM (${p.kind}): ${p.message}` : 'cluster fine');
      return p ? 1 : 0;
    } finally {
      await fz.close();
    }
  }

  let failed = 0;
  if (!flag('--no-regressions')) {
    const { regressions } = readRegressions(regressionsFile);
    if (regressions.length > 0) {
      console.log(`replaying ${regressions.length} regressions`);
      let fz = await FuzzCluster.start({ root, maxRequestBytes });
      try {
        let round = 1;
        for (const r of regressions) {
          const p = await replayRegression(fz, r, round++);
          console.log(`  ${p ? `FAIL ${p.kind}: ${p.message}` : 'ok'}  ${r.id}`);
          if (p) {
            failed++;
            if (!(await fz.revive())) {
              await fz.close();
              fz = await FuzzCluster.start({ root, maxRequestBytes });
            }
          }
        }
      } finally {
        await fz.close();
      }
    }
  }

  console.log(
    `fuzzing: seed ${seed}, target ${target}, ${timeMs / 1000} s, --max-request-bytes ${maxRequestBytes}`,
  );
  const report = await runFuzz({
    root,
    seed,
    target,
    timeMs,
    maxRequestBytes,
    batch: Number(arg('--batch') ?? '100'),
    concurrency: Number(arg('--concurrency') ?? '4'),
    maxFailures: Number(arg('--max-failures') ?? '1'),
    ...(narrowed ? { filter: narrowed } : {}),
    log,
    onFailure: (f) => {
      if (flag('--no-save')) return;
      const saved = saveRegression(regressionsFile, f);
      console.log(saved ? `saved as regression "${saved.id}"` : 'already among the regressions');
    },
  });
  console.log(formatStats(report.stats));
  for (const f of report.failures) console.log(`\nFAILURE\n${describeFailure(f)}`);
  if (failed > 0) console.log(`\n${failed} regressions failed`);
  return report.failures.length > 0 || failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
