/**
 * `npm run bench:memory`: what a member's resident memory does as the keyspace grows, for real
 * etcd and Concord in one run (issue 17's memory figures).
 *
 *   npm run bench:memory                                   # both targets, 1 member each
 *   npm run bench:memory -- --target concord --keys 200000
 *   npm run bench:memory -- --members 3 --json
 *
 * Two phases, each on a fresh cluster:
 * - "1 KiB puts": --puts puts (default 20,000) of a 1 KiB value to distinct keys, 64 in flight;
 *   the RSS before and after gives bytes per put. Then a compaction at the current revision,
 *   and the RSS once it has had 5 s to give memory back.
 * - "keys": --keys keys (default 1,000,000) of 24 bytes with 64-byte values, written 128 to a
 *   txn, and the RSS after.
 *
 * RSS is VmRSS from /proc: the figure an operator sees. It is taken after a settle period, not
 * after a forced collection: neither Go nor V8 is asked to collect, as neither would be in use.
 * With 3 members the table shows the largest member.
 */
import { parseArgs } from 'node:util';
import { Client, op } from '../src/index.js';
import { etcdInstalled, type LocalCluster, startCluster, type Target } from './api-cluster.js';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: 'both' },
    members: { type: 'string', default: '1' },
    puts: { type: 'string', default: '20000' },
    keys: { type: 'string', default: '1000000' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});

const members = Number(args.members);
const puts = Number(args.puts);
const keys = Number(args.keys);
if (members !== 1 && members !== 3) throw new TypeError(`--members must be 1 or 3, got ${args.members}`);
if (!(puts > 0) || !(keys > 0)) throw new TypeError('--puts and --keys must be positive numbers');
if (!['etcd', 'concord', 'both'].includes(args.target!)) {
  throw new TypeError(`--target must be etcd, concord or both, got ${args.target}`);
}
const targets: Target[] = args.target === 'both' ? ['etcd', 'concord'] : [args.target as Target];

const SETTLE_MS = 5000;
const PUT_VALUE = 'v'.repeat(1024);
const KEY_VALUE = 'w'.repeat(64);
const TXN_OPS = 128;

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const maxRss = (c: LocalCluster) => Math.max(...c.rssBytes());

/** Runs `count` tasks `inFlight` at a time. */
async function pool(count: number, inFlight: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

async function withCluster<T>(
  target: Target,
  fn: (c: LocalCluster, client: Client) => Promise<T>,
): Promise<T> {
  const cluster = await startCluster(target, members);
  const client = new Client({ endpoints: cluster.endpoints });
  try {
    return await fn(cluster, client);
  } finally {
    client.close();
    await cluster.close();
  }
}

interface PutsResult {
  before: number;
  after: number;
  perPut: number;
  afterCompaction: number;
}

function putsPhase(target: Target): Promise<PutsResult> {
  return withCluster(target, async (cluster, client) => {
    // Warm up the paths (and the allocator) before the baseline.
    await pool(2000, 64, (i) => client.put(`warm/${i}`, PUT_VALUE));
    await sleep(SETTLE_MS);
    const before = maxRss(cluster);
    await pool(puts, 64, (i) => client.put(`mem/${String(i).padStart(8, '0')}`, PUT_VALUE));
    await sleep(SETTLE_MS);
    const after = maxRss(cluster);
    const { header } = await client.put('mem/last', 'x');
    await client.compact(Number(header.revision), { physical: true });
    await sleep(SETTLE_MS);
    return { before, after, perPut: (after - before) / puts, afterCompaction: maxRss(cluster) };
  });
}

interface KeysResult {
  empty: number;
  loaded: number;
}

function keysPhase(target: Target): Promise<KeysResult> {
  return withCluster(target, async (cluster, client) => {
    await sleep(SETTLE_MS);
    const empty = maxRss(cluster);
    const txns = Math.ceil(keys / TXN_OPS);
    await pool(txns, 16, async (t) => {
      const ops = [];
      for (let i = t * TXN_OPS; i < Math.min(keys, (t + 1) * TXN_OPS); i++) {
        // 24 bytes: "k/" and 22 digits.
        ops.push(op.put(`k/${String(i).padStart(22, '0')}`, KEY_VALUE));
      }
      await client
        .txn()
        .success(...ops)
        .commit();
    });
    await sleep(SETTLE_MS);
    return { empty, loaded: maxRss(cluster) };
  });
}

const results: Record<string, { puts: PutsResult; keys: KeysResult }> = {};
for (const target of targets) {
  if (target === 'etcd' && !etcdInstalled()) {
    log('etcd: not installed, skipped (apt-get install etcd-server)');
    continue;
  }
  log(`${target}: ${puts} puts of 1 KiB`);
  const p = await putsPhase(target);
  log(`${target}: ${keys} keys of 24 B with 64 B values`);
  const k = await keysPhase(target);
  results[target] = { puts: p, keys: k };
}

if (args.json) {
  process.stdout.write(`${JSON.stringify({ members, puts, keys, results }, null, 2)}\n`);
} else {
  const rows: string[][] = [
    ['', ...Object.keys(results)],
    ['RSS before the puts', ...Object.values(results).map((r) => mb(r.puts.before))],
    [`RSS after ${puts} puts of 1 KiB`, ...Object.values(results).map((r) => mb(r.puts.after))],
    ['RSS growth per put', ...Object.values(results).map((r) => `${(r.puts.perPut / 1000).toFixed(1)} KB`)],
    ['RSS after compaction', ...Object.values(results).map((r) => mb(r.puts.afterCompaction))],
    ['RSS empty', ...Object.values(results).map((r) => mb(r.keys.empty))],
    [`RSS with ${keys} keys (24 B, 64 B values)`, ...Object.values(results).map((r) => mb(r.keys.loaded))],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(`\n${members} member${members === 1 ? '' : 's'}, largest member's VmRSS\n`);
  for (const r of rows)
    process.stdout.write(
      `${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}\n`,
    );
}
