/**
 * Closed-loop load for `npm run bench`: `concurrency` workers each keep one request in flight for
 * a fixed time; ops finishing in the warm-up are not counted. Also the latency recorder and the
 * percentiles the report prints.
 */
import type { Client } from 'nice-grpc';
import { type WatchDefinition, WatchRequest } from '../src/gen/etcdserverpb/rpc.js';

export interface Measured {
  /** Operations per second over the measured window. */
  rate: number;
  /** Latency percentiles in ms. */
  p50: number;
  p99: number;
  count: number;
  errors: number;
  /** The first error, to say why a case went wrong. */
  firstError: string | undefined;
  /** Case-specific figure (e.g. the CAS success ratio). */
  note?: string;
  /** CPU this process used, in cores (1 = one core busy): near 1, the load generator is the limit. */
  clientCpu?: number;
  /** CPU the members of a cluster started here used over the case, in cores. */
  serverCpu?: number;
  /** Leader changes during the case (from the members' /metrics), when they report them. */
  leaderChanges?: number;
}

/** Measures this process's CPU use, in cores, from construction to `cores()`. */
export class CpuMeter {
  readonly #t0 = performance.now();
  readonly #cpu0 = process.cpuUsage();

  cores(): number {
    const used = process.cpuUsage(this.#cpu0);
    return (used.user + used.system) / 1000 / (performance.now() - this.#t0);
  }
}

/** Latencies (ms) of one measured window; `count` may exceed the samples kept. */
export class Recorder {
  readonly samples: number[] = [];
  count = 0;
  errors = 0;
  firstError: string | undefined;

  add(ms: number): void {
    this.count++;
    this.samples.push(ms);
  }

  fail(err: unknown): void {
    this.errors++;
    this.firstError ??= err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
  }

  result(seconds: number): Measured {
    const s = this.samples.sort((a, b) => a - b);
    return {
      rate: this.count / seconds,
      p50: percentile(s, 50),
      p99: percentile(s, 99),
      count: this.count,
      errors: this.errors,
      firstError: this.firstError,
    };
  }
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Warm-up before each measured window: connections, JIT and server caches settle. */
export function warmupMs(seconds: number): number {
  return Math.min(1000, seconds * 200);
}

/**
 * Runs `op(worker)` in `concurrency` loops for warm-up + `seconds`, recording the latency of
 * every op that completes inside the measured window (wherever it started: with latencies near
 * the window's length, counting only ops that also started inside it would report nothing). A
 * failed op is counted and its worker backs off briefly, so a broken server yields errors rather
 * than a hot spin.
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  op: (worker: number) => Promise<void>,
): Promise<Measured> {
  const rec = new Recorder();
  const cpu = new CpuMeter();
  const start = performance.now() + warmupMs(seconds);
  const end = start + seconds * 1000;
  const worker = async (w: number) => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      try {
        await op(w);
        const t1 = performance.now();
        if (t1 >= start && t1 <= end) rec.add(t1 - t0);
      } catch (err) {
        const t1 = performance.now();
        if (t1 >= start && t1 <= end) rec.fail(err);
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { ...rec.result(seconds), clientCpu: cpu.cores() };
}

/**
 * A raw etcd Watch stream, without the SDK: creates are pipelined (the server answers them in
 * order) and each event is handed to `onEvent` as it is decoded, so the figures measure the
 * servers rather than the SDK's bookkeeping, as etcd's own benchmark tool does.
 */
export class RawWatchStream {
  readonly #requests: WatchRequest[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #created = 0;
  #createdWaiters: { n: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  #ended: Error | undefined;
  readonly done: Promise<void>;

  constructor(
    client: Client<typeof WatchDefinition>,
    readonly onEvent: (value: Uint8Array) => void,
    readonly onError: (err: unknown) => void,
  ) {
    const abort = new AbortController();
    this.#abort = abort;
    this.done = (async () => {
      try {
        for await (const r of client.watch(this.#requestStream(), { signal: abort.signal })) {
          if (r.created) {
            this.#created++;
            this.#createdWaiters = this.#createdWaiters.filter((w) => {
              if (this.#created < w.n) return true;
              w.resolve();
              return false;
            });
          }
          for (const e of r.events) this.onEvent(e.kv!.value);
        }
      } catch (err) {
        if (!abort.signal.aborted) this.onError(err);
      } finally {
        // Creates still waiting will never be answered: fail them rather than hang the case.
        this.#ended = new Error('the watch stream ended before every watcher was created');
        for (const w of this.#createdWaiters.splice(0)) w.reject(this.#ended);
      }
    })();
  }

  readonly #abort: AbortController;

  async *#requestStream(): AsyncIterable<WatchRequest> {
    for (;;) {
      while (this.#requests.length > 0) yield this.#requests.shift()!;
      if (this.#closed) return;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** Creates `n` watchers on [key, rangeEnd) and resolves once all are created. */
  watch(n: number, key: Buffer, rangeEnd: Buffer): Promise<void> {
    const target = this.#created + n;
    for (let i = 0; i < n; i++)
      this.#requests.push(WatchRequest.fromPartial({ createRequest: { key, rangeEnd } }));
    this.#wake?.();
    return new Promise((resolve, reject) => {
      if (this.#created >= target) resolve();
      else if (this.#ended) reject(this.#ended);
      else this.#createdWaiters.push({ n: target, resolve, reject });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    this.#abort.abort();
    await this.done;
  }
}
