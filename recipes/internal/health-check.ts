/**
 * Active health checks for a registered instance: an HTTP GET or a TCP connect every
 * `intervalMs`; `failures` failed checks in a row make it unhealthy, one passing check healthy
 * again. The registry withdraws an unhealthy instance and lists it again once it passes.
 */

/** What `register()`'s `healthCheck` takes: one of `http` and `tcp`. */
export interface HealthCheckOptions {
  /** GET this URL: an answer below 400 passes (redirects are not followed). */
  http?: string;
  /** Connect to this `host:port` over TCP: a connection passes (Node only: `node:net`). */
  tcp?: string;
  /** Time between checks (default 5000 ms). */
  intervalMs?: number;
  /** A check that has not passed within this long fails (default 2000 ms). */
  timeoutMs?: number;
  /** Failed checks in a row that withdraw the instance (default 3). */
  failures?: number;
}

interface NetModule {
  connect(opts: { host: string; port: number }): {
    once(event: 'connect' | 'error', fn: () => void): void;
    destroy(): void;
  };
}

/** Node's `node:net`, reached without importing it (absent from browsers and workers). */
function nodeNet(): NetModule {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const net = p?.getBuiltinModule?.('node:net') as NetModule | undefined;
  if (!net) throw new TypeError('a tcp health check needs node:net (Node 20.16 or later)');
  return net;
}

function splitHostPort(target: string): { host: string; port: number } {
  const i = target.lastIndexOf(':');
  const port = Number(target.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new TypeError(`tcp health check target must be host:port, got ${JSON.stringify(target)}`);
  }
  return { host: target.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

async function httpCheck(url: string, signal: AbortSignal): Promise<boolean> {
  const res = await fetch(url, { signal, redirect: 'manual' });
  await res.body?.cancel();
  return res.status < 400;
}

function tcpCheck(target: { host: string; port: number }, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = nodeNet().connect(target);
    const done = (ok: boolean) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(ok);
    };
    const onAbort = () => done(false);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The check described by `opts`, validated up front. */
function checkOf(opts: HealthCheckOptions): (signal: AbortSignal) => Promise<boolean> {
  if ((opts.http === undefined) === (opts.tcp === undefined)) {
    throw new TypeError('a health check takes exactly one of http and tcp');
  }
  if (opts.http !== undefined) {
    const url = new URL(opts.http).href;
    return (signal) => httpCheck(url, signal);
  }
  const target = splitHostPort(opts.tcp!);
  nodeNet();
  return (signal) => tcpCheck(target, signal);
}

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    // The registration's lease keepalive is what keeps a process alive, not its checks.
    (t as { unref?: () => void }).unref?.();
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Runs health checks until `signal` aborts (see `healthChecks()`). */
export type HealthChecks = (signal: AbortSignal, onChange: (healthy: boolean) => Promise<void>) => void;

/**
 * The checks of `opts` (a TypeError at once when they are invalid). Run, they go on until
 * `signal` aborts, calling `onChange(false)` after `failures` failed checks in a row and
 * `onChange(true)` on the first pass after that; each call is awaited before the next check,
 * and made again after the next check if it rejected.
 */
export function healthChecks(opts: HealthCheckOptions): HealthChecks {
  const check = checkOf(opts);
  const interval = opts.intervalMs ?? 5000;
  const timeout = opts.timeoutMs ?? 2000;
  const limit = Math.max(1, opts.failures ?? 3);
  return (signal, onChange) => {
    void (async () => {
      let failed = 0;
      let healthy = true;
      while (!signal.aborted) {
        await wait(interval, signal);
        if (signal.aborted) return;
        const ok = await check(AbortSignal.any([signal, AbortSignal.timeout(timeout)])).catch(() => false);
        failed = ok ? 0 : failed + 1;
        const next: boolean = ok ? true : failed >= limit ? false : healthy;
        if (next === healthy || signal.aborted) continue;
        try {
          await onChange(next);
          healthy = next;
        } catch {
          // The withdrawal or return did not get through: the next check tries again.
        }
      }
    })();
  };
}
