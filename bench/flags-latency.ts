/**
 * Flag change → every reader notified: how long it takes for N readers (each on its own client,
 * as N processes would be) to see a flag change through their watches.
 *
 *   etcd &                      # or any etcd / Concord endpoint
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npm run bench:flags
 *
 * Environment: ETCD_ENDPOINTS (default 127.0.0.1:2379), BENCH_CLIENTS (default 50),
 * BENCH_ROUNDS (default 200), BENCH_PREFIX (default `bench-flags-<pid>/`, deleted at the end).
 * Each round writes a new value and measures, from just before the write is sent, when the
 * first and the last of the N readers run their change listener with the new value; prints
 * the percentiles over the rounds.
 */
import { flags, flagsAdmin } from '../recipes/index.js';
import { Client } from '../src/index.js';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
const n = Number(process.env.BENCH_CLIENTS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 200);
const prefix = process.env.BENCH_PREFIX ?? `bench-flags-${process.pid}/`;

const writer = new Client({ endpoints });
const admin = flagsAdmin(writer, { prefix });
await admin.set('bench', { type: 'number', value: -1 });

const clients = Array.from({ length: n }, () => new Client({ endpoints }));
const readers = clients.map((c) => flags(c, { prefix }));
await Promise.all(readers.map((r) => r.ready()));
console.log(`${n} readers ready on ${endpoints.join(',')}; ${rounds} rounds`);

const fanout: number[] = [];
const first: number[] = [];
for (let i = 0; i < rounds; i++) {
  const seen: number[] = [];
  const all = new Promise<void>((resolve) => {
    for (const r of readers) {
      const on = () => {
        if (r.getNumber('bench', -1) !== i) return;
        r.off('change', on);
        seen.push(performance.now());
        if (seen.length === n) resolve();
      };
      r.on('change', on);
    }
  });
  const t0 = performance.now();
  await admin.set('bench', { type: 'number', value: i });
  await all;
  fanout.push(Math.max(...seen) - t0);
  first.push(Math.min(...seen) - t0);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const line = (name: string, xs: number[]) =>
  `${name.padEnd(22)} p50 ${pct(xs, 50).toFixed(2)} ms  p90 ${pct(xs, 90).toFixed(2)} ms  p99 ${pct(xs, 99).toFixed(2)} ms  max ${Math.max(...xs).toFixed(2)} ms`;
console.log(line('first reader notified', first));
console.log(line(`all ${n} notified`, fanout));

for (const r of readers) r.close();
for (const c of clients) c.close();
await writer.delete({ prefix });
writer.close();
