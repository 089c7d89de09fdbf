/**
 * The state machine alone (no Raft, no gRPC): puts/s and ranges/s with 1M keys, memory per key
 * and per idle watcher, snapshot and HashKV speed, and the key-index choice (sorted-btree over
 * latin1 strings vs over Buffers).
 *
 *   npm run bench:mvcc
 *
 * Environment: BENCH_KEYS (default 1 000 000), BENCH_VALUE_BYTES (default 64),
 * BENCH_WATCHERS (default 100 000), BENCH_OPS per timed phase (default 200 000).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import BTreeModule from 'sorted-btree';
import { PutRequest, RangeRequest, WatchCreateRequest } from '../src/gen/etcdserverpb/rpc.js';
import { StateMachine, snapshot, type WatchSink } from '../src/mvcc/index.js';

const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000);
const VALUE_BYTES = Number(process.env.BENCH_VALUE_BYTES ?? 64);
const WATCHERS = Number(process.env.BENCH_WATCHERS ?? 100_000);
const OPS = Number(process.env.BENCH_OPS ?? 200_000);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const keyOf = (i: number) =>
  Buffer.from(`bench/key/${(i * 2654435761) % 4294967296}`.padEnd(24, '.'), 'latin1');
const value = Buffer.alloc(VALUE_BYTES, 0x61);

function timed(label: string, n: number, fn: (i: number) => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `${label.padEnd(52)} ${fmt(n / s).padStart(12)} /s   (${n.toLocaleString('en-US')} in ${s.toFixed(2)} s)`,
  );
  return n / s;
}

console.log(
  `mvcc bench: ${fmt(KEYS)} keys of 24 bytes, values of ${VALUE_BYTES} bytes, node ${process.version}\n`,
);

// Pre-build requests so the timing is the state machine's, not the request construction.
const base = heap();
const sm = new StateMachine({ quotaBytes: 64 * 1024 * 1024 * 1024 });
const afterEmpty = heap();
timed('put, new keys (grows to 1M keys)', KEYS, (i) => {
  sm.put(PutRequest.fromPartial({ key: keyOf(i), value }));
});
const afterLoad = heap();
console.log(
  `memory per key (one revision, 24 B key, ${VALUE_BYTES} B value): ${fmt((afterLoad - afterEmpty) / KEYS)} bytes of heap`,
);

const reqs = Array.from({ length: OPS }, (_, i) =>
  PutRequest.fromPartial({ key: keyOf((i * 7919) % KEYS), value }),
);
timed('put, overwrite existing keys (1M keys)', OPS, (i) => {
  sm.put(reqs[i]!);
});
const gets = Array.from({ length: OPS }, (_, i) =>
  RangeRequest.fromPartial({ key: keyOf((i * 104729) % KEYS) }),
);
timed('range, single key (1M keys)', OPS, (i) => {
  sm.range(gets[i]!);
});
const scans = Array.from({ length: OPS / 10 }, (_, i) => {
  const k = keyOf((i * 104729) % KEYS);
  return RangeRequest.fromPartial({ key: k, rangeEnd: Buffer.from([0]), limit: 100n });
});
timed(
  'range, 100 keys from a key to the end (limit 100; count visits all)',
  Math.min(scans.length, 20),
  (i) => {
    sm.range(scans[i]!);
  },
);
const pages = Array.from({ length: OPS / 10 }, (_, i) => {
  const k = keyOf((i * 104729) % KEYS);
  const end = Buffer.from(k);
  end[end.length - 1]! += 1;
  return RangeRequest.fromPartial({ key: k, rangeEnd: Buffer.concat([k, Buffer.from('\xff', 'latin1')]) });
});
timed('range, small prefix [key, key+\\xff)', pages.length, (i) => {
  sm.range(pages[i]!);
});
const hist = Array.from({ length: OPS }, (_, i) =>
  RangeRequest.fromPartial({ key: keyOf((i * 104729) % KEYS), revision: BigInt(2 + ((i * 31) % KEYS)) }),
);
timed('range, single key at a historical revision', OPS, (i) => {
  sm.range(hist[i]!);
});

let t0 = performance.now();
const h = sm.hashKV(0);
console.log(
  `\nHashKV over ${fmt(sm.kv.index.size)} keys: ${(performance.now() - t0).toFixed(0)} ms (hash ${h.hash})`,
);
t0 = performance.now();
let bytes = 0;
let chunks = 0;
for (const c of snapshot(sm)) {
  bytes += c.length;
  chunks++;
}
const snapMs = performance.now() - t0;
console.log(
  `snapshot: ${fmt(bytes / 1048576)} MiB in ${chunks} chunks, ${snapMs.toFixed(0)} ms (${fmt(bytes / 1048576 / (snapMs / 1000))} MiB/s)`,
);
t0 = performance.now();
sm.compact({ revision: BigInt(sm.revision), physical: true });
console.log(
  `compaction of ${fmt(OPS)} superseded revisions among ${fmt(KEYS)} keys: ${(performance.now() - t0).toFixed(0)} ms`,
);

// Idle watchers, each on its own key, sharing one sink (as the watchers of one stream do).
const sink: WatchSink = { send: () => true };
const wreqs = Array.from({ length: WATCHERS }, (_, i) => WatchCreateRequest.fromPartial({ key: keyOf(i) }));
const beforeW = heap();
const watchers = wreqs.map((r, i) => sm.watches.watch(BigInt(i), r, sink));
const afterW = heap();
console.log(
  `\nmemory per idle watcher (single key, synced): ${fmt((afterW - beforeW) / WATCHERS)} bytes of heap`,
);
timed(`put with ${fmt(WATCHERS)} watchers (hits one)`, OPS / 4, (i) => {
  sm.put(reqs[i % WATCHERS]!);
});
for (const w of watchers) sm.watches.cancel(w);
void base;

// Index choice: the same B+ tree over latin1 strings vs over Buffers (Buffer.compare).
type BTreeClass = typeof import('sorted-btree').default;
const BTree: BTreeClass =
  (BTreeModule as unknown as { default?: BTreeClass }).default ?? (BTreeModule as unknown as BTreeClass);
const N = Math.min(KEYS, 500_000);
const bufs = Array.from({ length: N }, (_, i) => keyOf(i));
const strs = bufs.map((k) => k.toString('latin1'));
console.log(`\nkey index choice, ${fmt(N)} keys:`);
const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const ts = new BTree<string, number>(undefined, cmpStr);
const tb = new BTree<Buffer, number>(undefined, Buffer.compare);
timed('  sorted-btree<latin1 string> insert', N, (i) => {
  ts.set(strs[i]!, i);
});
timed('  sorted-btree<Buffer> insert', N, (i) => {
  tb.set(bufs[i]!, i);
});
timed('  sorted-btree<latin1 string> get', N, (i) => {
  ts.get(strs[(i * 7) % N]!);
});
timed('  sorted-btree<Buffer> get', N, (i) => {
  tb.get(bufs[(i * 7) % N]!);
});
const mapIdx = new Map<string, number>();
timed('  Map<latin1 string> insert (no order: ranges would need a sort)', N, (i) => {
  mapIdx.set(strs[i]!, i);
});
