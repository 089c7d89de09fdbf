/**
 * `npm run fault -- [--time SECONDS] [--seed N] [--nemesis a,b] [--failpoint SPEC] [--mutation NAME]`: fault runs
 * against real Concord processes until the time is spent (each run ~60 s), printing each run's
 * figures; exit code 1 on the first violation, whose evidence folder is printed.
 * `npm run soak` is the same for an hour (`npm run soak -- --time N` for another length).
 * `npm run fault` compiles test/fault with tsconfig.fault.json (into dist/fault) and builds
 * the server first.
 */
import { NEMESES, type NemesisName, runFault } from './run.js';

/** The last occurrence wins, so `npm run soak -- --time 600` overrides the script's own. */
function arg(name: string): string | undefined {
  const i = process.argv.lastIndexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const totalMs = Number(arg('--time') ?? '600') * 1000;
  const runMs = Math.min(totalMs, Number(arg('--run') ?? '60') * 1000);
  let seed = arg('--seed') !== undefined ? Number(arg('--seed')) : Math.floor(Math.random() * 2 ** 31);
  const nemeses = (arg('--nemesis')?.split(',') ?? [...NEMESES]) as NemesisName[];
  for (const n of nemeses)
    if (!NEMESES.includes(n)) throw new Error(`unknown nemesis ${n} (known: ${NEMESES.join(', ')})`);
  const mutation = arg('--mutation');
  const failpoint = arg('--failpoint');
  const t0 = Date.now();
  const totals = { runs: 0, operations: 0, unknown: 0, faults: 0, histories: 0 };
  while (Date.now() - t0 < totalMs) {
    const timeMs = Math.max(20_000, Math.min(runMs, totalMs - (Date.now() - t0)));
    console.log(
      `run ${totals.runs + 1}: seed ${seed}, ${timeMs / 1000} s${mutation ? `, mutation ${mutation}` : ''}`,
    );
    const r = await runFault({
      seed,
      timeMs,
      root: process.cwd(),
      nemeses,
      name: 'cli',
      ...(mutation ? { mutation } : {}),
      ...(failpoint ? { failpoints: [failpoint] } : {}),
      log: (l) => console.log(`  ${l}`),
    });
    totals.runs++;
    totals.operations += r.summary.operations;
    totals.unknown += r.summary.unknown;
    totals.faults += r.schedule.length;
    totals.histories += r.histories;
    console.log(
      `  ${r.summary.operations} operations (${r.summary.unknown} unknown), ${r.schedule.length} faults, checks ${JSON.stringify(r.summary.counts)}`,
    );
    if (!r.ok) {
      for (const v of r.summary.violations)
        console.log(`  VIOLATION ${v.check}: ${v.message.split('\n')[0]}`);
      console.log(`  evidence in ${r.dir}`);
      return 1;
    }
    seed = (seed + 1) >>> 0;
  }
  console.log(`clean: ${JSON.stringify(totals)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
