/**
 * The etcd v3 API under load, Concord beside real etcd (issue 7's performance acceptance).
 *
 *   npm run bench                                  # etcd and Concord, 3 members each, 5 s a case
 *   npm run bench -- --members 1 --seconds 2
 *   npm run bench -- --target concord --json
 *   npm run bench -- --endpoints 127.0.0.1:2379,127.0.0.1:22379   # any running cluster
 *
 * Options: `npm run bench -- --help` (USAGE below). Beyond what it says: etcd is skipped when
 * it is not installed, and ETCD_BIN overrides its binary; --cases splits at `|` because case
 * names hold commas (`--cases watch`, `--cases 'one key|1 stream'`); the warm-up is explained
 * at warmUp in api-cases.ts; --cpu-prof's profiles open in Chrome DevTools or speedscope. Each
 * case starts at the cluster's leader (leaderFirst in api-metrics.ts).
 *
 * Cases (see api-cases.ts): put with 1, 64 and 256 requests in flight (256-byte values, random
 * keys out of 100k); linearizable and serializable single-key range of existing keys; txn
 * compare-and-swap on 16 hot keys; watch fan-out to 1, 100 and 10,000 watchers of one key or
 * of a prefix (events/s, put-to-event latency); one put at a time to 10,000 watchers on one
 * stream and on 100 streams (latency: until the last watcher has it); lease grant + revoke. The load generator runs in this one Node process, on the same
 * machine as the members: on a small machine it competes with them for CPU.
 *
 * With both targets, both clusters run side by side and each case runs on etcd, then at once on
 * Concord: a machine whose speed drifts over minutes (a shared VM: the same build's put rate
 * moved 40% within an hour here) drifts under both columns of a case alike, where running all
 * of etcd's cases and then all of Concord's put minutes between the two halves of each row.
 * The idle cluster's heartbeats cost a few percent of a core.
 */
import { parseArgs } from 'node:util';
import { CASES, type CaseContext, cleanup, MAX_CONNS, warmUp } from './api-cases.js';
import { etcdInstalled, type LocalCluster, startCluster, type Target } from './api-cluster.js';
import { leaderChanges, leaderFirst, scrapeMetrics } from './api-metrics.js';
import { type Column, caseJson, table } from './api-report.js';
import { combine, type Outcome } from './api-rounds.js';

const USAGE = `usage: npm run bench -- [options]

  --target etcd|concord|both   which servers to start side by side (default both)
  --members 1|3                members per cluster (default 3)
  --endpoints a,b,c            bench a running cluster instead of starting any
  --seconds N                  seconds per case (default 5)
  --warmup N                   seconds of untimed puts before the first case (default 10)
  --cases 'a|b'                only the cases whose name contains one of these
  --rounds N                   run each case N times per target, alternating the targets'
                               order, and report medians (default 1)
  --json                       results as JSON on stdout (progress on stderr)
  --cpu-prof DIR               run Concord's members under node --cpu-prof, profiles to DIR
  --help                       this text
`;

/** A bad command line: the reason and the usage on stderr, exit status 2 (no stack trace). */
function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        endpoints: { type: 'string' },
        target: { type: 'string', default: 'both' },
        members: { type: 'string', default: '3' },
        seconds: { type: 'string', default: '5' },
        json: { type: 'boolean', default: false },
        cases: { type: 'string' },
        warmup: { type: 'string', default: '10' },
        rounds: { type: 'string', default: '1' },
        'cpu-prof': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    usageError((err as Error).message);
  }
}

const args = parse();
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const members = Number(args.members);
const seconds = Number(args.seconds);
const warmupSeconds = Number(args.warmup);
if (members !== 1 && members !== 3) usageError(`--members must be 1 or 3, got ${args.members}`);
if (!(seconds > 0)) usageError(`--seconds must be a positive number, got ${args.seconds}`);
if (!(warmupSeconds >= 0)) usageError(`--warmup must be 0 or more seconds, got ${args.warmup}`);
const rounds = Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1)
  usageError(`--rounds must be a whole number from 1, got ${args.rounds}`);
if (!['etcd', 'concord', 'both'].includes(args.target!)) {
  usageError(`--target must be etcd, concord or both, got ${args.target}`);
}
/** The cases whose name contains one of the --cases substrings, split at `|` (names hold commas). */
const wanted = args.cases?.split('|').filter((s) => s.length > 0);
const cases = wanted ? CASES.filter((c) => wanted.some((w) => c.name.includes(w))) : CASES;
if (cases.length === 0) usageError(`--cases ${args.cases} matches no case`);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** A cluster under test: its endpoints, the load context, and its members' CPU seconds. */
interface Bench {
  label: string;
  endpoints: string[];
  ctx: CaseContext;
  serverCpu?: () => number;
  /** Each case's outcome, one per round. */
  results: Map<string, Outcome[]>;
}

async function prepare(label: string, endpoints: string[], serverCpu?: () => number): Promise<Bench> {
  const ctx: CaseContext = { endpoints, seconds, prefix: `concord-bench/${process.pid}/` };
  log(`${label}: ${endpoints.join(',')}, ${seconds} s per case`);
  if (warmupSeconds > 0) {
    const w = await warmUp(ctx, warmupSeconds);
    log(
      `  ${label} warm-up, put with 64 clients for ${warmupSeconds} s: ${w.rate.toFixed(0)}/s (not reported)`,
    );
  }
  return { label, endpoints, ctx, serverCpu, results: new Map() };
}

function record(b: Bench, name: string, r: Outcome): void {
  const rs = b.results.get(name) ?? [];
  rs.push(r);
  b.results.set(name, rs);
}

async function runCase(b: Bench, c: (typeof CASES)[number]): Promise<void> {
  const round = rounds > 1 ? ` (round ${(b.results.get(c.name)?.length ?? 0) + 1})` : '';
  try {
    const t0 = performance.now();
    const cpu0 = b.serverCpu?.();
    const before = await scrapeMetrics(b.endpoints);
    const elections0 = leaderChanges(before);
    // Each case starts at the leader, on both clusters alike (an election may have moved it).
    b.ctx.endpoints = leaderFirst(b.endpoints, before);
    const m = await c.run(b.ctx);
    if (b.serverCpu) m.serverCpu = (b.serverCpu() - cpu0!) / ((performance.now() - t0) / 1000);
    const elections1 = leaderChanges(await scrapeMetrics(b.endpoints));
    if (elections0 !== undefined && elections1 !== undefined) m.leaderChanges = elections1 - elections0;
    record(b, c.name, m);
    const errors = m.errors ? `, ${m.errors} errors (${m.firstError})` : '';
    const cpu = [
      m.serverCpu === undefined ? '' : `, CPU: servers ${m.serverCpu.toFixed(2)}`,
      m.clientCpu === undefined ? '' : `, bench ${m.clientCpu.toFixed(2)} cores`,
      m.leaderChanges ? `, ${m.leaderChanges} leader change(s)` : '',
    ].join('');
    log(
      `  ${b.label}, ${c.name}${round}: ${m.rate.toFixed(0)}/s p50 ${m.p50.toFixed(2)} ms p99 ${m.p99.toFixed(2)} ms${cpu}${errors}${m.note ? `, ${m.note}` : ''}`,
    );
  } catch (err) {
    record(b, c.name, err as Error);
    log(`  ${b.label}, ${c.name}${round}: failed: ${(err as Error).message}`);
  }
}

async function finish(b: Bench): Promise<Column> {
  await cleanup(b.ctx).catch((err) => log(`  cleanup failed: ${(err as Error).message}`));
  const results = new Map([...b.results].map(([name, rs]) => [name, combine(rs)]));
  return { label: b.label, endpoints: b.endpoints, results, rounds: rounds > 1 ? b.results : undefined };
}

/**
 * Runs every case on each bench in turn, case by case (one bench: one after the other); with
 * --rounds, round after round, the benches' order reversed every other round so that neither
 * target always runs second (on a loaded cluster, or a machine that grows busier).
 */
async function runAll(benches: Bench[]): Promise<Column[]> {
  for (const c of cases)
    for (let r = 0; r < rounds; r++)
      for (const b of r % 2 === 0 ? benches : [...benches].reverse()) await runCase(b, c);
  const out: Column[] = [];
  for (const b of benches) out.push(await finish(b));
  return out;
}

const columns: Column[] = [];
if (args.endpoints) {
  const b = await prepare('endpoints', args.endpoints.split(','));
  columns.push(...(await runAll([b])));
} else {
  const targets: Target[] = (
    args.target === 'both' ? (['etcd', 'concord'] as Target[]) : [args.target as Target]
  ).filter((t) => {
    if (t === 'etcd' && !etcdInstalled()) {
      log('etcd is not installed: benching concord only');
      return false;
    }
    return true;
  });
  const clusters: LocalCluster[] = [];
  const benches: Bench[] = [];
  try {
    for (const target of targets) {
      log(`starting ${members}-member ${target} cluster`);
      let cluster: LocalCluster;
      try {
        cluster = await startCluster(target, members, { cpuProfDir: args['cpu-prof'] });
      } catch (err) {
        log(`${target} failed to start: ${(err as Error).message}`);
        columns.push({ label: target, endpoints: [], results: new Map(), error: (err as Error).message });
        continue;
      }
      clusters.push(cluster);
      benches.push(await prepare(target, cluster.endpoints, cluster.cpuSeconds));
    }
    columns.push(...(await runAll(benches)));
  } finally {
    for (const c of clusters) await c.close();
  }
  // The report keeps etcd's column first whichever failed to start.
  columns.sort((a, b) => targets.indexOf(a.label as Target) - targets.indexOf(b.label as Target));
}

if (args.json) {
  const out = {
    members: args.endpoints ? undefined : members,
    seconds,
    rounds,
    maxConns: MAX_CONNS,
    targets: Object.fromEntries(
      columns.map((c) => [
        c.label,
        {
          endpoints: c.endpoints,
          error: c.error,
          cases: Object.fromEntries(
            [...c.results].map(([name, r]) => [name, caseJson(r, c.rounds?.get(name))]),
          ),
        },
      ]),
    ),
  };
  // Microsecond precision is all a latency measured here can claim.
  const round = (_: string, v: unknown) =>
    typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(3)) : v;
  process.stdout.write(`${JSON.stringify(out, round, 2)}\n`);
} else {
  const where = args.endpoints ? args.endpoints : `${members} member${members === 1 ? '' : 's'} each`;
  const per = rounds > 1 ? `, medians of ${rounds} rounds` : '';
  process.stdout.write(`\n${seconds} s per case, ${where}${per}, ops/s and latency p50/p99 in ms\n`);
  process.stdout.write(
    `${table(
      cases.map((c) => c.name),
      columns,
    )}\n`,
  );
}
