/**
 * The cases of `npm run bench`, each run through the SDK against one endpoint list. Requests are
 * spread over up to MAX_CONNS clients, each with its own connection, starting on a different
 * member (as etcd's benchmark tool spreads --clients over --conns).
 */
import { randomBytes } from 'node:crypto';
import { ChannelCredentials, createChannel, createClient } from 'nice-grpc';
import { WatchDefinition } from '../src/gen/etcdserverpb/rpc.js';
import { Client, compare, op } from '../src/index.js';
import {
  CpuMeter,
  closedLoop,
  type Measured,
  RawWatchStream,
  Recorder,
  sleep,
  warmupMs,
} from './api-load.js';

export const MAX_CONNS = 8;
const VALUE_BYTES = 256;
const PUT_KEYSPACE = 100_000;
const READ_KEYS = 1000;
const CAS_KEYS = 16;
/** Connections (and streams, in the fan-out cases) the watchers of a watch case are spread over. */
const WATCH_CLIENTS = 4;
/**
 * Puts the watch writer keeps in flight, and may have sent ahead of the slowest watcher: enough
 * to keep the pipeline busy (one put at a time measures put latency, not fan-out), small enough that latency is not mostly a backlog of our own making.
 */
const WATCH_WINDOW = 8;
/** How long a watch case waits, at least, after the last put for every watcher to receive it. */
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

/** Where the watchers of a watch case look: all at one key, or all at a prefix written at 100 keys. */
type WatchTarget = 'one key' | 'prefix';

/** A writer, and raw watch streams spread over up to WATCH_CLIENTS connections (one per member in turn). */
async function withWatchStreams<T>(
  ctx: CaseContext,
  streams: number,
  onEvent: (value: Uint8Array) => void,
  onError: (err: unknown) => void,
  fn: (writer: Client, streams: RawWatchStream[]) => Promise<T>,
): Promise<T> {
  const channels = Array.from({ length: Math.min(streams, WATCH_CLIENTS) }, (_, i) =>
    createChannel(ctx.endpoints[i % ctx.endpoints.length]!, ChannelCredentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }),
  );
  const ss = Array.from(
    { length: streams },
    (_, i) =>
      new RawWatchStream(createClient(WatchDefinition, channels[i % channels.length]!), onEvent, onError),
  );
  try {
    return await withClients(ctx, 1, ([writer]) => fn(writer!, ss));
  } finally {
    await Promise.all(ss.map((s) => s.close()));
    for (const ch of channels) ch.close();
  }
}

/** Creates `watchers` watchers on `target`, spread evenly over the streams; returns the key to put. */
async function addWatchers(
  ctx: CaseContext,
  ss: RawWatchStream[],
  watchers: number,
  target: WatchTarget,
): Promise<(seq: number) => string> {
  const base = `${ctx.prefix}watch/`;
  const key = Buffer.from(target === 'one key' ? `${base}k` : base);
  const rangeEnd = target === 'one key' ? Buffer.alloc(0) : prefixEnd(key);
  await Promise.all(
    ss.map((s, i) =>
      s.watch(Math.floor(watchers / ss.length) + (i < watchers % ss.length ? 1 : 0), key, rangeEnd),
    ),
  );
  return target === 'one key' ? () => `${base}k` : (seq) => `${base}${pad(seq % 100, 3)}`;
}

function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  end[end.length - 1]!++;
  return end;
}

/** The sequence number a watch case writes in the first 12 bytes of each value. */
function seqOf(value: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < 12; i++) n = n * 10 + value[i]! - 48;
  return n;
}

const seqValue = (seq: number) => `${pad(seq, 12)}${value.slice(12)}`;

/**
 * One writer puts where `watchers` watchers (over WATCH_CLIENTS streams) look; the rate is
 * events delivered per second, the latency from just before a put is sent to each watcher
 * receiving its event. The writer keeps WATCH_WINDOW puts in flight, and at most that many
 * ahead of the slowest watcher, so the figure is delivery capacity, not an ever-growing backlog. An event that never
 * arrives counts as an error.
 */
function watchFanout(watchers: number, target: WatchTarget): BenchCase {
  return {
    name: `watch fan-out, ${watchers} watcher${watchers === 1 ? '' : 's'}, ${target}`,
    run: async (ctx) => {
      const rec = new Recorder();
      const cpu = new CpuMeter();
      const sentAt: number[] = [];
      const delivered: number[] = [];
      let complete = 0; // every put below this seq reached every watcher
      const waiters: (() => void)[] = [];
      let start = Number.POSITIVE_INFINITY;
      let end = Number.POSITIVE_INFINITY;
      const advance = () => {
        while ((delivered[complete] ?? 0) >= watchers) complete++;
        for (const w of waiters.splice(0)) w();
      };
      const onEvent = (v: Uint8Array) => {
        const seq = seqOf(v);
        const now = performance.now();
        const t0 = sentAt[seq];
        if (t0 !== undefined && now >= start && now <= end) rec.add(now - t0);
        delivered[seq] = (delivered[seq] ?? 0) + 1;
        if (seq === complete) advance();
      };
      await withWatchStreams(
        ctx,
        WATCH_CLIENTS,
        onEvent,
        (e) => rec.fail(e),
        async (writer, ss) => {
          const keyOf = await addWatchers(ctx, ss, watchers, target);
          let seq = 0;
          start = performance.now() + warmupMs(ctx.seconds);
          end = start + ctx.seconds * 1000;
          const putter = async () => {
            while (performance.now() < end) {
              if (seq - complete >= WATCH_WINDOW) {
                await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(100)]);
                continue;
              }
              const mine = seq++;
              sentAt[mine] = performance.now();
              try {
                await writer.put(keyOf(mine), seqValue(mine));
              } catch (err) {
                rec.fail(err);
                // Maybe never written: not waited for, and not counted as missing.
                delivered[mine] = watchers;
                advance();
                await sleep(10);
              }
            }
          };
          await Promise.all(Array.from({ length: WATCH_WINDOW }, putter));
          const drainMs = drainMsOf(watchers);
          const drained = performance.now() + drainMs;
          while (complete < seq && performance.now() < drained) await sleep(20);
          let missing = 0;
          for (let i = 0; i < seq; i++) missing += Math.max(0, watchers - (delivered[i] ?? 0));
          if (missing > 0)
            rec.fail(new Error(`${missing} events not delivered ${drainMs} ms after the last put`));
        },
      );
      return { ...rec.result(ctx.seconds), clientCpu: cpu.cores() };
    },
  };
}

/** How long a watch case waits for a put to reach every watcher before calling it lost. */
const drainMsOf = (watchers: number) => Math.max(WATCH_DRAIN_MS, 3 * watchers);

/**
 * Wide fan-out: one put at a time to `watchers` watchers of one key over `streams` streams,
 * waiting for it to reach them all before the next. Latency is the time from sending the put
 * to the last watcher receiving it; the rate is events delivered per second of those rounds.
 * Rounds repeat for the case's seconds (at least two; the first is warm-up).
 */
function watchOnePut(watchers: number, streams: number): BenchCase {
  return {
    name: `watch one put, ${watchers} watchers, ${streams} stream${streams === 1 ? '' : 's'}`,
    run: async (ctx) => {
      const rec = new Recorder();
      const cpu = new CpuMeter();
      let got = 0;
      let wake: (() => void) | undefined;
      const onEvent = () => {
        if (++got >= watchers) wake?.();
      };
      let busyMs = 0;
      await withWatchStreams(
        ctx,
        streams,
        onEvent,
        (e) => rec.fail(e),
        async (writer, ss) => {
          const keyOf = await addWatchers(ctx, ss, watchers, 'one key');
          const end = performance.now() + ctx.seconds * 1000;
          for (let round = 0; round < 2 || performance.now() < end; round++) {
            got = 0;
            const reached = new Promise<void>((r) => (wake = r));
            const t0 = performance.now();
            await writer.put(keyOf(round), seqValue(round));
            const lost = await Promise.race([
              reached.then(() => false),
              sleep(drainMsOf(watchers)).then(() => true),
            ]);
            const ms = performance.now() - t0;
            if (lost) {
              rec.fail(
                new Error(`${watchers - got} of ${watchers} events not delivered after ${ms.toFixed(0)} ms`),
              );
              break;
            }
            if (round === 0) continue;
            rec.add(ms);
            busyMs += ms;
          }
        },
      );
      const m = rec.result(busyMs / 1000);
      return { ...m, rate: busyMs > 0 ? (m.count * watchers) / (busyMs / 1000) : 0, clientCpu: cpu.cores() };
    },
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

/**
 * Untimed puts (64 in flight) before a fresh cluster's first case: Concord's JavaScript runs
 * interpreted until V8 has compiled its hot paths, about 10 s of load on the 2-core machine
 * (put with 1 client: ~260/s in the first 3 s of a fresh 3-member cluster, ~540/s from the
 * 10th second). Without it the first case measured start-up, not the server. etcd gets the
 * same warm-up; it changes nothing there.
 */
export async function warmUp(ctx: CaseContext, seconds: number): Promise<Measured> {
  return put(64).run({ ...ctx, seconds });
}

export const CASES: BenchCase[] = [
  put(1),
  put(64),
  put(256),
  range(false, 64),
  range(true, 64),
  cas(64),
  watchFanout(1, 'one key'),
  watchFanout(100, 'one key'),
  watchFanout(10_000, 'one key'),
  watchFanout(100, 'prefix'),
  watchFanout(10_000, 'prefix'),
  watchOnePut(10_000, 1),
  watchOnePut(10_000, 100),
  leaseGrantRevoke(64),
];

/** Removes every key the cases wrote (matters when benching someone's running cluster). */
export async function cleanup(ctx: CaseContext): Promise<void> {
  await withClients(ctx, 1, async ([c]) => {
    await c!.delete({ prefix: ctx.prefix });
  });
}
