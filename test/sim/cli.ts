/**
 * The simulator's command line. `npm run sim` compiles src/raft, the production Ready step and
 * test/sim with tsconfig.sim.json (plain tsc, into dist/sim, so no build step can be forgotten)
 * and runs this.
 *
 * `npm run sim -- --seed N [--trace]` replays one run (with its trace on failure);
 * `npm run sim -- --seeds N [--from S]` runs N seeds (random start unless --from) and prints
 * every failing seed. `--mutation follower-ack-before-persist` plants that bug in the production
 * Ready step the members run (see host-order.test.ts). Exit code 1 if any run failed.
 */
import { formatFailure, runSeed } from './run.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): number {
  const mutation = arg('--mutation');
  if (mutation !== undefined && mutation !== 'follower-ack-before-persist')
    throw new Error(`--mutation: the simulator knows only follower-ack-before-persist, not ${mutation}`);
  const ackBeforePersist = mutation !== undefined;
  const one = arg('--seed');
  if (one !== undefined) {
    const seed = Number(one);
    const r = runSeed(seed, { trace: process.argv.includes('--trace'), ackBeforePersist });
    if (r.ok) {
      console.log(`seed ${seed} ok: ${r.options}`);
      console.log(`  ${JSON.stringify(r.stats)}`);
      return 0;
    }
    console.log(formatFailure(r));
    if (r.trace) console.log(r.trace.slice(-200).join('\n'));
    return 1;
  }
  const count = Number(arg('--seeds') ?? '100');
  const from = arg('--from') !== undefined ? Number(arg('--from')) : Math.floor(Math.random() * 2 ** 31);
  const t0 = performance.now();
  const failures: number[] = [];
  for (let i = 0; i < count; i++) {
    const seed = (from + i) >>> 0;
    const r = runSeed(seed, { ackBeforePersist });
    if (!r.ok) {
      failures.push(seed);
      console.log(formatFailure(r));
    }
    if ((i + 1) % 1000 === 0) {
      const s = (performance.now() - t0) / 1000;
      console.log(`${i + 1}/${count} seeds, ${failures.length} failed, ${((i + 1) / s).toFixed(1)} seeds/s`);
    }
  }
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${count} seeds from ${from}: ${failures.length} failed in ${s.toFixed(1)} s (${(count / s).toFixed(1)} seeds/s)` +
      (failures.length > 0 ? `; failing seeds: ${failures.join(' ')}` : ''),
  );
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = main();
