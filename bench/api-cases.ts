/**
 * The cases of `npm run bench`, each run through the SDK against one endpoint list. Requests are
 * spread over up to MAX_CONNS clients, each with its own connection, starting on a different
 * member (as etcd's benchmark tool spreads --clients over --conns).
 */
import { randomBytes } from 'node:crypto';
import { Client, compare, op, type Watch } from '../src/index.js';
import { CpuMeter, closedLoop, type Measured, Recorder, sleep, warmupMs } from './api-load.js';

export const MAX_CONNS = 8;
const VALUE_BYTES = 256;
const PUT_KEYSPACE = 100_000;
const READ_KEYS = 1000;
const CAS_KEYS = 16;
export const WATCHERS = 1000;
const WATCH_CLIENTS = 4;
/**
 * Puts the watch writer may have sent ahead of the slowest watcher: enough to keep the pipeline
 * busy, small enough that latency is not mostly a backlog of our own making.
 */
const WATCH_WINDOW = 4;
/** How long the watch case waits, after the last put, for every watcher to receive it. */
const WATCH_DRAIN_MS = 5000;

export interface CaseContext {
  endpoints: string[];
  seconds: number;
  /** Every key the cases write starts with it (deleted at the end). */
  prefix: string;
}

export interface BenchCase {
  name: string;
  run(ctx: CaseContext): Promise<Measured>;
}

const value = randomBytes(VALUE_BYTES / 2)
  .toString('hex')
  .slice(0, VALUE_BYTES);

function clients(endpoints: string[], n: number): Client[] {
  return Array.from(
    { length: n },
    (_, i) =>
      new Client({
        endpoints: [...endpoints.slice(i % endpoints.length), ...endpoints.slice(0, i % endpoints.length)],
        // grpc-js shares one connection between channels to the same address unless told not to.
        channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
      }),
  );
}

async function withClients<T>(ctx: CaseContext, n: number, fn: (cs: Client[]) => Promise<T>): Promise<T> {
  const cs = clients(ctx.endpoints, n);
  try {
    return await fn(cs);
  } finally {
    for (const c of cs) c.close();
  }
}

const conns = (concurrency: number) => Math.min(concurrency, MAX_CONNS);
const pick = (n: number) => Math.floor(Math.random() * n);
const pad = (i: number, width: number) => String(i).padStart(width, '0');

/** Writes `count` keys named `<base><i>` with `concurrency` requests in flight. */
async function preload(c: Client, base: string, count: number, concurrency = 32): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await c.put(`${base}${pad(next++, 6)}`, value);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function put(concurrency: number): BenchCase {
  return {
    name: `put, ${concurrency} client${concurrency === 1 ? '' : 's'}`,
    run: (ctx) =>
      withClients(ctx, conns(concurrency), (cs) =>
        closedLoop(concurrency, ctx.seconds, async (w) => {
          await cs[w % cs.length]!.put(`${ctx.prefix}put/${pad(pick(PUT_KEYSPACE), 6)}`, value);
        }),
      ),
  };
}

function range(serializable: boolean, concurrency: number): BenchCase {
  return {
    name: `range ${serializable ? 'serializable' : 'linearizable'}, ${concurrency} clients`,
    run: (ctx) =>
      withClients(ctx, conns(concurrency), async (cs) => {
        const base = `${ctx.prefix}read/`;
        await preload(cs[0]!, base, READ_KEYS);
        return closedLoop(concurrency, ctx.seconds, async (w) => {
          const kv = await cs[w % cs.length]!.get(`${base}${pad(pick(READ_KEYS), 6)}`, { serializable });
          if (!kv) throw new Error('a preloaded key is missing');
        });
      }),
  };
}

/** Compare-and-swap on a few hot keys: put if the mod revision is the one last seen, else re-read. */
function cas(concurrency: number): BenchCase {
  return {
    name: `txn CAS, ${concurrency} clients`,
    run: (ctx) =>
      withClients(ctx, conns(concurrency), async (cs) => {
        const keys = Array.from({ length: CAS_KEYS }, (_, i) => `${ctx.prefix}cas/${i}`);
        const seen = await Promise.all(keys.map(async (k) => (await cs[0]!.put(k, value)).header.revision));
        let swapped = 0;
        let txns = 0;
        const m = await closedLoop(concurrency, ctx.seconds, async (w) => {
          const i = pick(CAS_KEYS);
          const key = keys[i]!;
          const r = await cs[w % cs.length]!.txn()
            .if(compare.modRevision(key, '==', seen[i]!))
            .success(op.put(key, value))
            .failure(op.get(key))
            .commit();
          txns++;
          if (r.succeeded) {
            swapped++;
            if (r.header.revision > seen[i]!) seen[i] = r.header.revision;
          } else {
            const got = r.responses[0];
            const rev = got?.type === 'range' ? got.kvs[0]?.modRevision : undefined;
            if (rev !== undefined && rev > seen[i]!) seen[i] = rev;
          }
        });
        return { ...m, note: `${((100 * swapped) / Math.max(1, txns)).toFixed(0)}% of txns swapped` };
      }),
  };
}

/**
 * One writer puts on a prefix that WATCHERS watches (over WATCH_CLIENTS clients) follow; the
 * rate is events delivered per second, the latency from just before a put is sent to each
 * watcher receiving its event. The writer stays at most WATCH_WINDOW puts ahead of the slowest
 * watcher, so the figure is delivery capacity, not an ever-growing backlog. An event that never
 * arrives counts as an error.
 */
function watchFanout(watchers: number): BenchCase {
  return {
    name: `watch fan-out, ${watchers} watchers`,
    run: (ctx) =>
      withClients(ctx, WATCH_CLIENTS + 1, async ([writer, ...watching]) => {
        const prefix = `${ctx.prefix}watch/`;
        const rec = new Recorder();
        const cpu = new CpuMeter();
        const sentAt: number[] = [];
        const delivered: number[] = [];
        let complete = 0; // every put below this seq reached every watcher
        let wake: (() => void) | undefined;
        let start = Number.POSITIVE_INFINITY;
        let end = Number.POSITIVE_INFINITY;
        const onEvent = (seq: number) => {
          const now = performance.now();
          const t0 = sentAt[seq];
          if (t0 !== undefined && now >= start && now <= end) rec.add(now - t0);
          delivered[seq] = (delivered[seq] ?? 0) + 1;
          advance();
        };
        const advance = () => {
          while ((delivered[complete] ?? 0) >= watchers) complete++;
          wake?.();
        };
        const ws: Watch[] = await Promise.all(
          Array.from({ length: watchers }, (_, i) => watching[i % watching.length]!.watch({ prefix })),
        );
        const loops = ws.map(async (w) => {
          try {
            for await (const ev of w) onEvent(Number.parseInt(ev.kv.value.toString('latin1', 0, 12), 10));
          } catch (err) {
            rec.fail(err);
          }
        });
        let seq = 0;
        try {
          start = performance.now() + warmupMs(ctx.seconds);
          end = start + ctx.seconds * 1000;
          for (; performance.now() < end; seq++) {
            while (seq - complete >= WATCH_WINDOW && performance.now() < end) {
              await Promise.race([new Promise<void>((r) => (wake = r)), sleep(100)]);
            }
            sentAt[seq] = performance.now();
            try {
              await writer!.put(`${prefix}${pad(seq % 100, 3)}`, `${pad(seq, 12)}${value.slice(12)}`);
            } catch (err) {
              rec.fail(err);
              // Maybe never written: not waited for, and not counted as missing.
              delivered[seq] = watchers;
              advance();
              await sleep(10);
            }
          }
          const drained = performance.now() + WATCH_DRAIN_MS;
          while (complete < seq && performance.now() < drained) await sleep(20);
          let missing = 0;
          for (let i = 0; i < seq; i++) missing += Math.max(0, watchers - (delivered[i] ?? 0));
          if (missing > 0) {
            rec.fail(new Error(`${missing} events not delivered ${WATCH_DRAIN_MS} ms after the last put`));
          }
        } finally {
          for (const w of ws) w.cancel();
          await Promise.all(loops);
        }
        return { ...rec.result(ctx.seconds), clientCpu: cpu.cores() };
      }),
  };
}

function leaseGrantRevoke(concurrency: number): BenchCase {
  return {
    name: `lease grant+revoke, ${concurrency} clients`,
    run: (ctx) =>
      withClients(ctx, conns(concurrency), (cs) =>
        closedLoop(concurrency, ctx.seconds, async (w) => {
          const lease = await cs[w % cs.length]!.lease({ ttl: 60, keepAlive: false });
          await lease.revoke();
        }),
      ),
  };
}

export const CASES: BenchCase[] = [
  put(1),
  put(64),
  put(256),
  range(false, 64),
  range(true, 64),
  cas(64),
  watchFanout(WATCHERS),
  leaseGrantRevoke(64),
];

/** Removes every key the cases wrote (matters when benching someone's running cluster). */
export async function cleanup(ctx: CaseContext): Promise<void> {
  await withClients(ctx, 1, async ([c]) => {
    await c!.delete({ prefix: ctx.prefix });
  });
}
