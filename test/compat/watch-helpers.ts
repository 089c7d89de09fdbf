/**
 * Helpers shared by the watch compat tests: reading a watch with deadlines, and etcd's
 * Prometheus metrics (`<clientUrl>/metrics`), which show the server's view of watch streams.
 */
import type { Watch, WatchBatch, WatchEvent } from '../../src/index.js';
import { withTimeout } from '../harness/etcd.js';
import { httpRequest, postJson } from '../harness/gateway-http.js';

/** GETs a URL without keep-alive (no socket outlives the request): its body, whatever the status. */
export async function httpGet(url: string, timeoutMs = 3000): Promise<string> {
  return (await httpRequest(url, { timeoutMs })).body;
}

/**
 * Sum of the samples of metric `name` whose labels include every pair of `labels`, from one
 * member's `/metrics`. Throws if no sample matched (a misspelt name must not read as 0).
 */
export async function metric(
  clientUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await httpGet(`${clientUrl}/metrics`);
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line.trim());
    if (!m || m[1] !== name) continue;
    const lbl = m[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) continue;
    sum += Number(m[3]);
    found = true;
  }
  if (!found) throw new Error(`metric ${name} ${JSON.stringify(labels)} not found at ${clientUrl}`);
  return sum;
}

export const WATCHERS = 'etcd_debugging_mvcc_watcher_total';
export const STREAMS = 'etcd_debugging_mvcc_watch_stream_total';
export const WATCH_RPC = { grpc_service: 'etcdserverpb.Watch', grpc_method: 'Watch' };

/** Counts of server-side watch state on one member. */
export async function watchMetrics(
  clientUrl: string,
): Promise<{ watchers: number; streams: number; started: number }> {
  const [watchers, streams, started] = await Promise.all([
    metric(clientUrl, WATCHERS),
    metric(clientUrl, STREAMS),
    metric(clientUrl, 'grpc_server_started_total', WATCH_RPC),
  ]);
  return { watchers, streams, started };
}

/**
 * Reads a watch through one `batches()` iterator, with a deadline per wait. On timeout the
 * error says what arrived so far.
 */
export class Reader {
  readonly batches: WatchBatch[] = [];
  readonly #it: AsyncIterator<WatchBatch>;
  #events: WatchEvent[] = [];
  #done = false;

  constructor(readonly watch: Watch) {
    this.#it = watch.batches()[Symbol.asyncIterator]();
  }

  get done(): boolean {
    return this.#done;
  }

  /** The next batch (events or progress), or undefined when the watch ended. */
  async nextBatch(ms = 10_000): Promise<WatchBatch | undefined> {
    const r = await withTimeout(this.#it.next(), ms, `next watch batch (have ${this.batches.length})`);
    if (r.done) {
      this.#done = true;
      return undefined;
    }
    this.batches.push(r.value);
    return r.value;
  }

  /** Exactly the next `n` events (a batch is never split across calls unless it has more). */
  async events(n: number, ms = 10_000): Promise<WatchEvent[]> {
    const deadline = Date.now() + ms;
    while (this.#events.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} events, got ${fmtEvents(this.#events)}`);
      let b: WatchBatch | undefined;
      try {
        b = await this.nextBatch(left);
      } catch (e) {
        throw new Error(`${(e as Error).message}; events so far: ${fmtEvents(this.#events)}`);
      }
      if (!b) throw new Error(`watch ended after ${fmtEvents(this.#events)}`);
      this.#events.push(...b.events);
    }
    return this.#events.splice(0, n);
  }

  /**
   * Every event up to and including the first one at revision `rev` or later (or until the
   * deadline: then the error names the revisions missing below `rev`).
   */
  async until(rev: bigint, ms = 10_000): Promise<WatchEvent[]> {
    const deadline = Date.now() + ms;
    while (!this.#events.some((e) => e.revision >= rev)) {
      const left = deadline - Date.now();
      let b: WatchBatch | undefined;
      try {
        if (left <= 0) throw new Error(`timed out after ${ms}ms`);
        b = await this.nextBatch(left);
      } catch (e) {
        throw new Error(`${(e as Error).message} waiting for revision ${rev}; ${gaps(this.#events)}`);
      }
      if (!b) throw new Error(`watch ended before revision ${rev}; ${gaps(this.#events)}`);
      this.#events.push(...b.events);
    }
    const i = this.#events.findIndex((e) => e.revision >= rev);
    return this.#events.splice(0, i + 1);
  }

  /** Events already received but not yet taken by `events()`. */
  get buffered(): WatchEvent[] {
    return this.#events;
  }
}

/** A short description of events for error messages (count, then the last few). */
export function fmtEvents(evs: WatchEvent[]): string {
  const tail = evs.slice(-5).map((e) => `${e.type} ${e.key.toString()}@${e.revision}`);
  return `${evs.length} events${evs.length > 5 ? ', the last 5' : ''}: [${tail.join(', ')}]`;
}

/** Runs `p` with a deadline (re-export for the tests' convenience). */
export const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => withTimeout(p, ms, what);

/** POSTs JSON (etcd's gRPC gateway) and parses the JSON answer. */
export const httpPostJson = <T>(url: string, body: unknown, timeoutMs = 3000): Promise<T> =>
  postJson<T>(url, body, timeoutMs);

/** Describes holes in a run of revisions (for error messages). */
function gaps(evs: WatchEvent[]): string {
  const holes: string[] = [];
  for (let i = 1; i < evs.length; i++) {
    const a = evs[i - 1]!.revision;
    const b = evs[i]!.revision;
    if (b > a + 1n) holes.push(`${a + 1n}..${b - 1n}`);
  }
  return `${fmtEvents(evs)}; revisions skipped: [${holes.join(', ')}]`;
}
