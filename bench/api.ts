/**
 * The etcd v3 API under load, Concord beside real etcd (issue 7's performance acceptance).
 *
 *   npm run bench                                  # etcd then Concord, 3 members each, 5 s a case
 *   npm run bench -- --members 1 --seconds 2
 *   npm run bench -- --target concord --json
 *   npm run bench -- --endpoints 127.0.0.1:2379,127.0.0.1:22379   # any running cluster
 *
 * Options: --endpoints a,b,c (bench that cluster instead of starting any); --target
 * etcd|concord|both (default both; etcd is skipped when it is not installed, ETCD_BIN overrides
 * the binary); --members 1|3 (default 3); --seconds N per case (default 5, after a warm-up of
 * up to 1 s); --json (machine-readable results on stdout, progress on stderr); --cases 'a|b' (run
 * only the cases whose name contains one of these substrings, e.g. `--cases watch` or
 * `--cases 'one key|1 stream'`; `|`, as case names hold commas); --warmup N (seconds of untimed
 * puts before the first case, default 10, 0 for none: see warmUp in api-cases.ts).
 *
 * Cases (see api-cases.ts): put with 1, 64 and 256 requests in flight (256-byte values, random
 * keys out of 100k); linearizable and serializable single-key range of existing keys; txn
 * compare-and-swap on 16 hot keys; watch fan-out to 1, 100 and 10,000 watchers of one key or
 * of a prefix (events/s, put-to-event latency); one put at a time to 10,000 watchers on one
 * stream and on 100 streams (latency: until the last watcher has it); lease grant + revoke. The load generator runs in this one Node process, on the same
 * machine as the members: on a small machine it competes with them for CPU.
 */
import { parseArgs } from 'node:util';
import { CASES, type CaseContext, cleanup, MAX_CONNS, warmUp } from './api-cases.js';
import { etcdInstalled, type LocalCluster, startCluster, type Target } from './api-cluster.js';
import type { Measured } from './api-load.js';
import { leaderChanges } from './api-metrics.js';
import { type Column, table } from './api-report.js';

const { values: args } = parseArgs({
  options: {
    endpoints: { type: 'string' },
    target: { type: 'string', default: 'both' },
    members: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    cases: { type: 'string' },
    warmup: { type: 'string', default: '10' },
  },
  strict: true,
});

const members = Number(args.members);
const seconds = Number(args.seconds);
const warmupSeconds = Number(args.warmup);
if (members !== 1 && members !== 3) throw new TypeError(`--members must be 1 or 3, got ${args.members}`);
if (!(seconds > 0)) throw new TypeError(`--seconds must be a positive number, got ${args.seconds}`);
if (!(warmupSeconds >= 0)) throw new TypeError(`--warmup must be 0 or more seconds, got ${args.warmup}`);
if (!['etcd', 'concord', 'both'].includes(args.target!)) {
  throw new TypeError(`--target must be etcd, concord or both, got ${args.target}`);
}
/** The cases whose name contains one of the --cases substrings, split at `|` (names hold commas). */
const wanted = args.cases?.split('|').filter((s) => s.length > 0);
const cases = wanted ? CASES.filter((c) => wanted.some((w) => c.name.includes(w))) : CASES;
if (cases.length === 0) throw new TypeError(`--cases ${args.cases} matches no case`);
const log = (line: string) => process.stderr.write(`${line}\n`);

async function runCases(label: string, endpoints: string[], serverCpu?: () => number): Promise<Column> {
  const ctx: CaseContext = { endpoints, seconds, prefix: `concord-bench/${process.pid}/` };
  const results = new Map<string, Measured | Error>();
  log(`${label}: ${endpoints.join(',')}, ${seconds} s per case`);
  if (warmupSeconds > 0) {
    const w = await warmUp(ctx, warmupSeconds);
    log(`  warm-up, put with 64 clients for ${warmupSeconds} s: ${w.rate.toFixed(0)}/s (not reported)`);
  }
  for (const c of cases) {
    try {
      const t0 = performance.now();
      const cpu0 = serverCpu?.();
      const elections0 = await leaderChanges(endpoints);
      const m = await c.run(ctx);
      if (serverCpu) m.serverCpu = (serverCpu() - cpu0!) / ((performance.now() - t0) / 1000);
      const elections1 = await leaderChanges(endpoints);
      if (elections0 !== undefined && elections1 !== undefined) m.leaderChanges = elections1 - elections0;
      results.set(c.name, m);
      const errors = m.errors ? `, ${m.errors} errors (${m.firstError})` : '';
      const cpu = [
        m.serverCpu === undefined ? '' : `, CPU: servers ${m.serverCpu.toFixed(2)}`,
        m.clientCpu === undefined ? '' : `, bench ${m.clientCpu.toFixed(2)} cores`,
        m.leaderChanges ? `, ${m.leaderChanges} leader change(s)` : '',
      ].join('');
      log(
        `  ${c.name}: ${m.rate.toFixed(0)}/s p50 ${m.p50.toFixed(2)} ms p99 ${m.p99.toFixed(2)} ms${cpu}${errors}${m.note ? `, ${m.note}` : ''}`,
      );
    } catch (err) {
      results.set(c.name, err as Error);
      log(`  ${c.name}: failed: ${(err as Error).message}`);
    }
  }
  await cleanup(ctx).catch((err) => log(`  cleanup failed: ${(err as Error).message}`));
  return { label, endpoints, results };
}

async function local(target: Target): Promise<Column> {
  let cluster: LocalCluster;
  log(`starting ${members}-member ${target} cluster`);
  try {
    cluster = await startCluster(target, members);
  } catch (err) {
    log(`${target} failed to start: ${(err as Error).message}`);
    return { label: target, endpoints: [], results: new Map(), error: (err as Error).message };
  }
  try {
    return await runCases(target, cluster.endpoints, cluster.cpuSeconds);
  } finally {
    await cluster.close();
  }
}

const columns: Column[] = [];
if (args.endpoints) {
  columns.push(await runCases('endpoints', args.endpoints.split(',')));
} else {
  const targets: Target[] = args.target === 'both' ? ['etcd', 'concord'] : [args.target as Target];
  for (const target of targets) {
    if (target === 'etcd' && !etcdInstalled()) {
      log('etcd is not installed: benching concord only');
      continue;
    }
    columns.push(await local(target));
  }
}

if (args.json) {
  const out = {
    members: args.endpoints ? undefined : members,
    seconds,
    maxConns: MAX_CONNS,
    targets: Object.fromEntries(
      columns.map((c) => [
        c.label,
        {
          endpoints: c.endpoints,
          error: c.error,
          cases: Object.fromEntries(
            [...c.results].map(([name, r]) => [name, r instanceof Error ? { error: r.message } : r]),
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
  process.stdout.write(`\n${seconds} s per case, ${where}, ops/s and latency p50/p99 in ms\n`);
  process.stdout.write(
    `${table(
      cases.map((c) => c.name),
      columns,
    )}\n`,
  );
}
