/**
 * The endpoint pool: a transport (gRPC or fetch) reaching every endpoint, an "active" endpoint
 * that calls go to, failover to the next endpoint when the active one is unavailable, and the
 * retry rule for unary calls (reads retry on any member that cannot serve; writes only when
 * the request certainly never left).
 *
 * Every timer here is unref'd unless a caller waits on it.
 */
import { isAbortError } from 'abort-controller-x';
import type { Metadata } from 'nice-grpc-common';
import { fullJitter } from '../backoff.js';
import { ETCD_ERRORS } from '../errors/index.js';
import { AuthDefinition } from '../gen/services.js';
import { type CallOptions, CallScope, delay } from './call-options.js';
import { Diagnostics, type DiagnosticsLogger, keyPreview, now, type RequestMessage } from './diagnostics.js';
import {
  ClientClosedError,
  EtcdError,
  isRetryableRead,
  toEtcdError,
  UnavailableError,
  wasNotSent,
} from './errors.js';
import {
  type CompatServiceDefinition,
  endpointKey,
  type ServiceClient,
  type Transport,
} from './transport.js';

/** Refusals that a fresh token cures (clientv3's shouldRefreshToken). */
const STALE_TOKEN = new Set<string>(
  (['invalid-auth-token', 'user-empty', 'auth-old-revision'] as const).map((c) => ETCD_ERRORS[c].message),
);

export interface ConnectionSettings {
  endpoints: string[];
  timeoutMs: number;
  /** Attempts per unary call, across endpoints, for errors that are safe to retry. */
  maxAttempts: number;
  /** Credentials to authenticate with (etcd auth); the token then goes with every call. */
  auth?: { username: string; password: string };
  /** Fed the diagnostics events of this client (see diagnostics.ts). */
  logger?: DiagnosticsLogger;
}

/** A unary call being traced: its message, and whether its start was published. */
interface Trace {
  m: RequestMessage;
  started: boolean;
}

export type CallKind = 'read' | 'write';

export class Connections {
  readonly settings: ConnectionSettings;
  readonly transport: Transport;
  #active = 0;
  #closed = false;
  readonly #closeController = new AbortController();
  #token: string | undefined;
  #authenticating: Promise<void> | undefined;
  /** The server refused the last token (the next authentication is a refresh). */
  #tokenRefused = false;
  /** The traced call whose attempt is being dispatched, only while `call` runs synchronously. */
  #tracing: Trace | undefined;
  /** This client's diagnostics: the process's channels and the `logger` option. */
  readonly diagnostics: Diagnostics;

  constructor(settings: ConnectionSettings, transport: Transport) {
    this.settings = settings;
    this.transport = transport;
    this.diagnostics = new Diagnostics(settings.logger);
    // Every pending unary call listens here (see CallScope): no max-listeners leak warning.
    // Node's own, reached without importing node:events (absent from fetch-only runtimes).
    nodeEvents()?.setMaxListeners(0, this.#closeController.signal);
  }

  get endpoints(): readonly string[] {
    return this.settings.endpoints;
  }
  get active(): number {
    return this.#active;
  }
  get closed(): boolean {
    return this.#closed;
  }
  /** Aborts when the client closes: long-running loops (watch, keepalive) listen to it. */
  get closeSignal(): AbortSignal {
    return this.#closeController.signal;
  }

  /** A client for `definition` on endpoint `i` (default: the active one). */
  client<D extends CompatServiceDefinition>(definition: D, i = this.#active): ServiceClient<D> {
    if (this.#closed) throw new ClientClosedError('client is closed');
    const c = this.transport.client(definition, i);
    const t = this.#tracing;
    return t === undefined ? c : traced(c, definition, t, this.diagnostics);
  }

  /** Call metadata for the long-lived streams (see Transport.streamMetadata), after authenticating. */
  async streamMetadata(i: number, signal: AbortSignal): Promise<Metadata | undefined> {
    await this.#ensureToken(i, signal);
    return this.transport.streamMetadata();
  }

  /** Authenticates first when credentials are set and no token is held (one exchange at a time). */
  async #ensureToken(i: number, signal: AbortSignal): Promise<void> {
    const auth = this.settings.auth;
    if (!auth || this.#token !== undefined) return;
    this.#authenticating ??= (async () => {
      try {
        // No token is set while there is none held: an old one does not ride along.
        const c = this.transport.client(AuthDefinition, i);
        const { token } = await c.authenticate({ name: auth.username, password: auth.password }, { signal });
        this.#token = token;
        this.transport.setToken(token);
        const reason = this.#tokenRefused ? 'refused' : 'initial';
        this.#tokenRefused = false;
        this.diagnostics.publish('tokenRefresh', () => ({
          endpoint: this.settings.endpoints[i] ?? '',
          reason,
        }));
      } finally {
        this.#authenticating = undefined;
      }
    })();
    return this.#authenticating;
  }

  /**
   * A stream was refused for its token (a watch create canceled "invalid auth token": the
   * token expired or the auth revision moved on). Drops the token so the next stream
   * authenticates again; false when this client has no credentials to do that with.
   */
  refusedToken(message: string): boolean {
    if (!this.settings.auth || !STALE_TOKEN.has(message)) return false;
    this.#dropToken(this.#token);
    return true;
  }

  /** Drops a token the server refused, unless another call replaced it meanwhile. */
  #dropToken(token: string | undefined): void {
    if (this.#token !== token) return;
    this.#token = undefined;
    this.#tokenRefused = true;
    this.transport.setToken(undefined);
  }

  /**
   * The active endpoint failed: later calls go to the next one. `reason` is for diagnostics:
   * `'unavailable'`, `'deadline'`, `'stream'` or `'hung'`.
   */
  failed(i: number, reason = 'unavailable'): void {
    const eps = this.settings.endpoints;
    if (i === this.#active && eps.length > 1) {
      const to = (i + 1) % eps.length;
      this.#active = to;
      this.diagnostics.publish('failover', () => ({ from: eps[i] ?? '', to: eps[to] ?? '', reason }));
    }
  }

  /**
   * Replaces the endpoint list (autoSyncInterval), keeping the active endpoint when it is in the
   * new list; false when the list is the same or the transport cannot change it.
   */
  setEndpoints(endpoints: string[]): boolean {
    const previous = this.settings.endpoints;
    const keys = endpoints.map(endpointKey);
    const t = this.transport;
    if (!t.setEndpoints || this.#closed) return false;
    if (keys.length === previous.length && previous.every((e, j) => endpointKey(e) === keys[j])) return false;
    const active = endpointKey(previous[this.#active] ?? '');
    t.setEndpoints(endpoints);
    this.settings.endpoints = endpoints;
    this.#active = Math.max(0, keys.indexOf(active));
    this.diagnostics.publish('endpointsSync', () => ({ previous, endpoints }));
    return true;
  }

  /**
   * Runs a unary call with the caller's deadline and signal, failing over and retrying when
   * that cannot apply a write twice.
   */
  async unary<T>(
    kind: CallKind,
    opts: CallOptions | undefined,
    call: (i: number, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw new ClientClosedError('client is closed');
    // The one check a call makes when nobody listens.
    if (!this.diagnostics.tracesRequests) return this.#unary(kind, opts, call, undefined);
    const trace: Trace = {
      m: { method: 'unknown', endpoint: '', transport: this.transport.kind, attempts: 0 },
      started: false,
    };
    const t0 = now();
    let error: unknown;
    try {
      return await this.#unary(kind, opts, call, trace);
    } catch (e) {
      error = e ?? new Error(String(e));
      throw e;
    } finally {
      // A call that failed before any attempt went out (closed, aborted, authentication)
      // still starts and ends, so every call has both.
      if (!trace.started) this.diagnostics.requestStart(trace.m);
      this.diagnostics.requestEnd(trace.m, t0, error);
    }
  }

  async #unary<T>(
    kind: CallKind,
    opts: CallOptions | undefined,
    call: (i: number, signal: AbortSignal) => Promise<T>,
    trace: Trace | undefined,
  ): Promise<T> {
    const scope = new CallScope(opts, this.settings.timeoutMs, this.#closeController.signal);
    let reauthenticated = false;
    try {
      for (let attempt = 1; ; attempt++) {
        scope.throwIfAborted();
        const i = this.#active;
        const token = this.#token;
        try {
          await this.#ensureToken(i, scope.signal);
          if (!trace) return await call(i, scope.signal);
          trace.m.attempts = attempt;
          trace.m.endpoint = this.settings.endpoints[i] ?? '';
          // The service client `call` takes from client() (synchronously) notes the method.
          this.#tracing = trace;
          let p: Promise<T>;
          try {
            p = call(i, scope.signal);
          } finally {
            this.#tracing = undefined;
          }
          return await p;
        } catch (e) {
          if (scope.signal.aborted) {
            // A member that let the deadline pass may be hung (paused, partitioned): the next
            // call tries another one rather than waiting on it again.
            if (scope.timedOut) this.failed(i, 'deadline');
            throw scope.abortError();
          }
          if (isAbortError(e)) throw e;
          const err = toEtcdError(e);
          // A refused token: the request was not served (a write was refused before or at
          // apply, changing nothing), so it goes again once with a fresh token.
          if (this.settings.auth && !reauthenticated && staleToken(err)) {
            reauthenticated = true;
            this.#dropToken(this.#token ?? token);
            attempt--;
            continue;
          }
          if (err instanceof UnavailableError) this.failed(i);
          const retry = (kind === 'read' && isRetryableRead(err)) || wasNotSent(err);
          if (!retry || attempt >= this.settings.maxAttempts || this.#closed) throw err;
          const delayMs = retryDelayMs(attempt, this.settings.endpoints.length);
          this.diagnostics.publish('retry', () => ({
            method: trace?.m.method ?? 'unknown',
            attempt,
            delayMs,
            code: err instanceof EtcdError ? err.code : 'unknown',
          }));
          try {
            await delay(delayMs, scope.signal);
          } catch {
            throw scope.abortError();
          }
        }
      }
    } finally {
      scope.dispose();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeController.abort(new ClientClosedError('client is closed'));
    this.transport.close();
  }
}

/**
 * `c` with each method noting, when first called, etcd's RPC name and the request's key on the
 * trace, and publishing its start: the request is on its way. Only traced calls get one.
 */
function traced<D extends CompatServiceDefinition>(
  c: ServiceClient<D>,
  definition: D,
  trace: Trace,
  diagnostics: Diagnostics,
): ServiceClient<D> {
  const service = (definition as { fullName?: string }).fullName ?? '';
  const methods = definition.methods as Record<string, { name?: string } | undefined>;
  return new Proxy(c, {
    get(target, prop) {
      const f = (target as Record<string | symbol, unknown>)[prop];
      const def = typeof prop === 'string' ? methods[prop] : undefined;
      if (typeof f !== 'function' || !def) return f;
      return (req: unknown, o: unknown) => {
        if (!trace.started) {
          trace.started = true;
          trace.m.method = `${service}/${def.name ?? String(prop)}`;
          const key = requestKey(req);
          if (key !== undefined) trace.m.key = key;
          diagnostics.requestStart(trace.m);
        }
        return f.call(target, req, o);
      };
    },
  });
}

/** The key a request is about: its `key`, or a txn's first compared key. */
function requestKey(req: unknown): string | undefined {
  const r = req as { key?: unknown; compare?: { key?: unknown }[] } | null;
  if (r === null || typeof r !== 'object') return undefined;
  return keyPreview(r.key ?? r.compare?.[0]?.key);
}

function staleToken(err: unknown): boolean {
  return err instanceof Error && STALE_TOKEN.has(err.message);
}

/**
 * The wait after failed attempt `attempt` (1-based): quick hops (under 10 ms) across the
 * endpoints first, then the shared jittered back-off, whose mean (50 ms doubling, up to 1 s)
 * is the fixed schedule this replaced.
 */
export function retryDelayMs(attempt: number, endpoints: number, random: () => number = Math.random): number {
  if (attempt < endpoints) return fullJitter(0, HOP, random);
  return fullJitter(attempt - endpoints, RETRY, random);
}
const HOP = { baseMs: 10, capMs: 10 };
const RETRY = { baseMs: 100, capMs: 2000 };

/** node:events where the runtime is Node (20.16+ has process.getBuiltinModule), else undefined. */
function nodeEvents(): { setMaxListeners(n: number, ...targets: EventTarget[]): void } | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return p?.getBuiltinModule?.('node:events') as ReturnType<typeof nodeEvents>;
}
