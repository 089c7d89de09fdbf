/**
 * The write cases of `npm run bench` alone (puts, txn compare-and-swap, lease grant+revoke),
 * etcd and Concord alternated within one run, with server CPU per operation: the figures for
 * the write path (issue 17) without the read and watch cases in between.
 *
 *   npm run build && node dist/bench/write-path.js --seconds 5 --rounds 1
 *   node dist/bench/write-path.js --cases put,lease --rounds 2
 *
 * Options: --cases (comma-separated name prefixes, default put,txn,lease); --rounds N (each
 * round runs etcd then Concord); --seconds N per case; --members 1|3; --target etcd|concord|both;
 * --warmup N (seconds of untimed puts before the first case, default 10);
 * --endpoints a,b,c (a
 * running cluster instead, e.g. members started under `node --cpu-prof`).
 */
import { parseArgs } from 'node:util';
import { CASES, cleanup, warmUp } from './api-cases.js';
import { etcdInstalled, startCluster, type Target } from './api-cluster.js';

const { values: args } = parseArgs({
  options: {
    cases: { type: 'string', default: 'put,txn,lease' },
    rounds: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' },
    members: { type: 'string', default: '3' },
    endpoints: { type: 'string' },
    target: { type: 'string', default: 'both' },
    warmup: { type: 'string', default: '10' },
  },
  strict: true,
});

const prefixes = args.cases!.split(',');
const cases = CASES.filter((c) => prefixes.some((p) => c.name.startsWith(p)));
const seconds = Number(args.seconds);
const both: Target[] = etcdInstalled() ? ['etcd', 'concord'] : ['concord'];
const targets = args.target === 'both' ? both : [args.target as Target];
const given = args.endpoints?.split(',');
const external = { target: 'endpoints', endpoints: given ?? [], cpuSeconds: () => 0, close: async () => {} };
const out = (line: string) => process.stdout.write(`${line}\n`);

out('round target case ops/s p50-ms p99-ms server-cpu-ms/op');
for (let round = 1; round <= Number(args.rounds); round++) {
  for (const target of given ? ['endpoints' as const] : targets) {
    const cluster = target === 'endpoints' ? external : await startCluster(target, Number(args.members));
    const ctx = { endpoints: cluster.endpoints, seconds, prefix: `write-path/${process.pid}/` };
    try {
      // A fresh cluster's first seconds measure V8 compiling Concord, not the server.
      if (Number(args.warmup) > 0) await warmUp(ctx, Number(args.warmup));
      for (const c of cases) {
        const t0 = performance.now();
        const cpu0 = cluster.cpuSeconds();
        const m = await c.run(ctx);
        const cpu = cluster.cpuSeconds() - cpu0;
        // Ops over the whole run (warm-up included) is what the CPU was spent on.
        const ops = m.rate * ((performance.now() - t0) / 1000);
        const errors = m.errors ? ` (${m.errors} errors: ${m.firstError})` : '';
        out(
          `${round} ${target} "${c.name}" ${m.rate.toFixed(0)} ${m.p50.toFixed(2)} ${m.p99.toFixed(2)} ${((1000 * cpu) / ops).toFixed(3)}${errors}`,
        );
      }
      await cleanup(ctx);
    } finally {
      await cluster.close();
    }
  }
}
