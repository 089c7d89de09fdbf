/**
 * `npm run fuzz -- [--seeds N] [--first S] [--seed S] [--ops N] [--minimize]
 * [--regressions] [--settle MS]`: the differential fuzzer (differential.ts), real etcd 3.4 against
 * Concord, each seed on a fresh pair of servers.
 *
 * - `--seeds N` runs seeds S..S+N-1 (S = `--first`, default 1); `--seed S` runs that one seed;
 *   `--ops N` ops per seed (default 2000).
 * - Prints one line per seed; for a failing seed, its first differing request (op index, the
 *   request as sent, its bytes) with both answers. Exit code 1 on any difference.
 * - `--minimize` shrinks a failing seed's ops (ddmin, a fresh pair per trial) and prints the
 *   minimal case as an entry for test/fuzz/differential-regressions.json.
 * - Known differences not fixed yet (KNOWN_DIFFERENCES in differential.ts) are stepped around;
 *   `--check NAME` (repeatable) checks one instead
 *   (issue 16, item 2: without it a present-but-empty range_end is sent as absent).
 * - `--regressions` replays test/fuzz/differential-regressions.json instead.
 * - `--case FILE` runs the ops of a JSON file (an `Op[]`); `--trace` prints every op as sent and
 *   both answers.
 * Run from the repository root (compiled with tsconfig.fuzz-diff.json into dist/fuzz-diff).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ALL_KNOWN,
  describeDifference,
  generate,
  KNOWN_DIFFERENCES,
  type Known,
  minimize,
  type Op,
  type Regression,
  type RunOptions,
  runCase,
} from './differential.js';

function arg(name: string): string | undefined {
  const i = process.argv.lastIndexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(name);

function formatStats(stats: Record<string, number>): string {
  return Object.entries(stats)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}

async function main(): Promise<number> {
  const root = process.cwd();
  const checked = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--check' ? [a] : [])) as Known[];
  for (const k of checked)
    if (!(k in KNOWN_DIFFERENCES))
      throw new Error(`--check: no known difference ${k} (${ALL_KNOWN.join(', ')})`);
  const opts: RunOptions = {
    known: ALL_KNOWN.filter((k) => !checked.includes(k)),
    ...(arg('--settle') ? { settleMs: Number(arg('--settle')) } : {}),
    keepGoing: flag('--keep-going'),
  };

  if (flag('--trace'))
    opts.trace = (i, c, etcd, concord) =>
      console.log(
        `#${i} ${JSON.stringify(c)}\n  etcd:    ${etcd}\n  ${etcd === concord ? 'concord: same' : `concord: ${concord}`}`,
      );

  const caseFile = arg('--case');
  if (caseFile !== undefined) {
    const ops = JSON.parse(readFileSync(caseFile, 'utf8')) as Op[];
    const res = await runCase(root, ops, opts);
    for (const d of res.differences ?? (res.difference ? [res.difference] : []))
      console.log(describeDifference(d));
    if (!res.difference) console.log(`${res.ops} ops, no difference`);
    return res.difference ? 1 : 0;
  }

  if (flag('--regressions')) {
    const file = path.join(root, 'test/fuzz/differential-regressions.json');
    const { regressions } = JSON.parse(readFileSync(file, 'utf8')) as { regressions: Regression[] };
    let failed = 0;
    for (const r of regressions) {
      const check = r.check ?? [];
      if (r.pending && !check.every((k) => checked.includes(k))) {
        console.log(`skip (pending: ${r.pending})  ${r.note}`);
        continue;
      }
      const res = await runCase(root, r.ops, { ...opts, known: ALL_KNOWN.filter((k) => !check.includes(k)) });
      console.log(`${res.difference ? 'DIFF' : 'ok  '}  seed ${r.seed}: ${r.note}`);
      if (res.difference) {
        failed++;
        console.log(describeDifference(res.difference));
      }
    }
    return failed > 0 ? 1 : 0;
  }

  const count = Number(arg('--ops') ?? '2000');
  const seeds =
    arg('--seed') !== undefined
      ? [Number(arg('--seed'))]
      : Array.from({ length: Number(arg('--seeds') ?? '1') }, (_, i) => Number(arg('--first') ?? '1') + i);
  let failed = 0;
  let total = 0;
  const started = Date.now();
  for (const seed of seeds) {
    const t0 = Date.now();
    const ops = generate(seed, count);
    const res = await runCase(root, ops, opts);
    total += res.ops;
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (!res.difference) {
      console.log(`seed ${seed}: ${res.ops} ops, no difference (${secs} s)`);
      if (flag('--stats')) console.log(`  ${formatStats(res.stats)}`);
      continue;
    }
    failed++;
    console.log(`seed ${seed}: DIFFERENCE after ${res.ops} ops (${secs} s)`);
    console.log(describeDifference(res.difference));
    if (flag('--minimize')) {
      const m = await minimize(root, ops, res.difference, { ...opts, log: (l) => console.log(l) });
      console.log(`minimized to ${m.ops.length} ops:`);
      console.log(describeDifference(m.difference));
      const entry: Regression = {
        note: 'TODO: what differed and what etcd does',
        seed,
        count,
        ops: m.ops,
        ...(checked.length > 0 ? { check: checked } : {}),
      };
      console.log('regression entry:');
      console.log(JSON.stringify(entry));
    }
  }
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `${seeds.length} seeds, ${total} ops run, ${failed} with a difference (${secs} s)${
      opts.known!.length > 0 ? `; stepped around: ${opts.known!.join(', ')}` : ''
    }`,
  );
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
