/**
 * The SDK's diagnostics: `node:diagnostics_channel` channels (as undici and pg publish theirs)
 * and the client's `logger` option, fed from the same events. Every publisher asks first
 * whether anyone listens and builds its message only then, so a client nobody observes pays
 * one property read per event.
 *
 * `node:diagnostics_channel` is reached through `process.getBuiltinModule` (Node 20.16+, Deno,
 * Bun), never imported: the fetch entry point loads this module in browsers and edge runtimes,
 * where there is no such module and no `process`; there the channels are absent, each check is
 * one `undefined` test, and the logger alone is fed.
 */

/** Names of the channels the SDK publishes on (`concord-kv:` prefix), as exported constants. */
export const CHANNELS = {
  /**
   * A tracing channel (`diagnostics_channel.tracingChannel('concord-kv:request')`): its
   * `start`, `end`, `asyncStart`, `asyncEnd` and `error` events carry one {@link RequestMessage}
   * per unary call, across its retries.
   */
  request: 'concord-kv:request',
  /** The active endpoint changed: {@link FailoverMessage}. */
  failover: 'concord-kv:failover',
  /** A unary call is retried after a delay: {@link RetryMessage}. */
  retry: 'concord-kv:retry',
  /** A keepalive was answered: {@link KeepaliveLagMessage}. */
  keepaliveLag: 'concord-kv:lease:keepalive-lag',
  /** A kept lease ended without being revoked through it: {@link LeaseLostMessage}. */
  leaseLost: 'concord-kv:lease:lost',
  /** The client authenticated (first call, or after a refused token): {@link TokenRefreshMessage}. */
  tokenRefresh: 'concord-kv:auth:token-refresh',
  /** The endpoint list was replaced from the member list (`autoSyncInterval`): {@link EndpointsSyncMessage}. */
  endpointsSync: 'concord-kv:endpoints:sync',
  /** A watch changed state (disconnected, resuming, caught up): {@link WatchStateMessage}. */
  watchState: 'concord-kv:watch:state',
  /** A watch was re-created on a new stream from a revision: {@link WatchStateMessage}. */
  watchResumed: 'concord-kv:watch:resumed',
} as const;

/** What the `concord-kv:request` tracing channel's events carry: one object per unary call, filled in as it goes. */
export interface RequestMessage {
  /** etcd's RPC, as `<package>.<Service>/<Method>`, e.g. `etcdserverpb.KV/Range`. */
  method: string;
  /** The request's key as text, cut to its first {@link KEY_PREVIEW_CHARS} characters; absent for calls without one. */
  key?: string;
  /** The endpoint of the last attempt, as the client was given it. */
  endpoint: string;
  /** `'grpc'`, `'fetch'`, or a custom transport's kind. */
  transport: string;
  /** Attempts made so far (1 unless retried). */
  attempts: number;
  /** Set at the end: the call's duration in ms, retries and back-off included. */
  durationMs?: number;
  /** Set at the end. */
  outcome?: 'ok' | 'error';
  /** Set on error: the error's stable `code` (`'unavailable'`, `'compacted'`, `'aborted'` …). */
  code?: string;
  /** Set on error: the gRPC status of a server error. */
  grpcCode?: number;
  /** Set on error (the tracing channel convention). */
  error?: unknown;
}

/** `concord-kv:failover`. */
export interface FailoverMessage {
  /** The endpoint left. */
  from: string;
  /** The endpoint calls and streams go to now. */
  to: string;
  /** `'unavailable'`, `'deadline'` (a member let a call's deadline pass), `'stream'` (a watch or keepalive stream broke), `'hung'` (keepalives unanswered). */
  reason: string;
}

/** `concord-kv:retry`. */
export interface RetryMessage {
  /** etcd's RPC, as in {@link RequestMessage}. */
  method: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** The wait before the next attempt, in ms. */
  delayMs: number;
  /** The failed attempt's error code. */
  code: string;
}

/** `concord-kv:lease:keepalive-lag`. */
export interface KeepaliveLagMessage {
  /** The lease's ID. */
  leaseId: bigint;
  /** From sending the keepalive to its answer, in ms. */
  lagMs: number;
}

/** `concord-kv:lease:lost`. */
export interface LeaseLostMessage {
  /** The lease's ID. */
  leaseId: bigint;
  /** `'expired'` (the server says it is gone) or `'keepalive-failed'` (no answer within its TTL). */
  reason: string;
}

/** `concord-kv:auth:token-refresh`. */
export interface TokenRefreshMessage {
  /** The endpoint that issued the token. */
  endpoint: string;
  /** `'initial'` (no token held) or `'refused'` (the server refused the old one). */
  reason: 'initial' | 'refused';
}

/** `concord-kv:endpoints:sync`. */
export interface EndpointsSyncMessage {
  /** The endpoints before. */
  previous: readonly string[];
  /** The endpoints now. */
  endpoints: readonly string[];
}

/** `concord-kv:watch:state` and `concord-kv:watch:resumed` (published by the watch hub). */
export interface WatchStateMessage {
  /** The watched key or prefix start, as text (cut like {@link RequestMessage.key}). */
  key: string;
  /** The revision the watch resumes from. */
  fromRevision?: bigint;
  /** `'connected'`, `'disconnected'`, `'resuming'`, … */
  state: string;
}

/** Every message, by channel key. */
export interface DiagnosticsMessages {
  failover: FailoverMessage;
  retry: RetryMessage;
  keepaliveLag: KeepaliveLagMessage;
  leaseLost: LeaseLostMessage;
  tokenRefresh: TokenRefreshMessage;
  endpointsSync: EndpointsSyncMessage;
  watchState: WatchStateMessage;
  watchResumed: WatchStateMessage;
}

/** Keys are cut to this many characters in messages (a key may be long, or hold data). */
export const KEY_PREVIEW_CHARS = 64;

/**
 * What the client's `logger` option takes: pino, bunyan, winston or `console` fit. Each method
 * is called with a fields object and a message, in pino's order.
 */
export interface DiagnosticsLogger {
  /** Each request that succeeded, and keepalive lag. */
  debug(fields: object, message: string): void;
  /** Retries, token refreshes, endpoint list syncs, watch states and resumptions. */
  info(fields: object, message: string): void;
  /** Failed requests, failovers and lost leases. */
  warn(fields: object, message: string): void;
  /** Not called by the SDK today; part of the shape so any common logger fits. */
  error(fields: object, message: string): void;
}

interface Channel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}
interface TracingChannel {
  readonly hasSubscribers: boolean;
  readonly start: Channel;
  readonly end: Channel;
  readonly asyncStart: Channel;
  readonly asyncEnd: Channel;
  readonly error: Channel;
}
interface DiagnosticsChannelModule {
  channel(name: string): Channel;
  tracingChannel?(name: string): TracingChannel;
}

/** node:diagnostics_channel where the runtime has it (see the module comment), else undefined. */
function diagnosticsChannel(): DiagnosticsChannelModule | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return p?.getBuiltinModule?.('node:diagnostics_channel') as DiagnosticsChannelModule | undefined;
  } catch {
    return undefined;
  }
}

const dc = diagnosticsChannel();
type Key = keyof DiagnosticsMessages;
const channels: Partial<Record<Key, Channel>> = {};
if (dc)
  for (const k of Object.keys(CHANNELS) as (Key | 'request')[])
    if (k !== 'request') channels[k] = dc.channel(CHANNELS[k]);
const requestChannel = dc?.tracingChannel?.(CHANNELS.request);

const LEVEL: Record<Key, keyof DiagnosticsLogger> = {
  failover: 'warn',
  retry: 'info',
  keepaliveLag: 'debug',
  leaseLost: 'warn',
  tokenRefresh: 'info',
  endpointsSync: 'info',
  watchState: 'info',
  watchResumed: 'info',
};

/**
 * One client's publisher: the process-wide channels plus that client's logger. Channels are
 * global (every client publishes on them); the logger hears its own client only.
 */
export class Diagnostics {
  readonly #logger: DiagnosticsLogger | undefined;

  constructor(logger?: DiagnosticsLogger) {
    this.#logger = logger;
  }

  /** Whether anyone hears `name`: check before doing work only a message needs. */
  listens(name: Key): boolean {
    return this.#logger !== undefined || channels[name]?.hasSubscribers === true;
  }

  /** Publishes the message `build` makes, building it only when someone listens. */
  publish<K extends Key>(name: K, build: () => DiagnosticsMessages[K]): void {
    const c = channels[name];
    const heard = c?.hasSubscribers === true;
    if (!heard && this.#logger === undefined) return;
    const m = build();
    if (heard) c.publish(m);
    if (this.#logger) this.#logger[LEVEL[name]](loggable(m), `concord-kv ${CHANNELS[name]}`);
  }

  /** Whether unary calls need a {@link RequestMessage}: someone hears requests or retries. */
  get tracesRequests(): boolean {
    return (
      this.#logger !== undefined ||
      requestChannel?.hasSubscribers === true ||
      channels.retry?.hasSubscribers === true
    );
  }

  /** A request's first attempt is on its way (its method and key are known now). */
  requestStart(m: RequestMessage): void {
    if (requestChannel?.hasSubscribers) {
      requestChannel.start.publish(m);
      requestChannel.end.publish(m);
    }
  }

  /** A request settled: `error` undefined for success. */
  requestEnd(m: RequestMessage, startedAt: number, error: unknown): void {
    m.durationMs = now() - startedAt;
    if (error === undefined) m.outcome = 'ok';
    else {
      m.outcome = 'error';
      m.error = error;
      const e = error as { code?: unknown; grpcCode?: unknown; name?: unknown };
      m.code = typeof e.code === 'string' ? e.code : e.name === 'AbortError' ? 'aborted' : 'unknown';
      if (typeof e.grpcCode === 'number') m.grpcCode = e.grpcCode;
    }
    const t = requestChannel;
    if (t?.hasSubscribers) {
      if (error !== undefined) t.error.publish(m);
      t.asyncStart.publish(m);
      t.asyncEnd.publish(m);
    }
    const log = this.#logger;
    if (log) {
      const { error: _e, ...fields } = m;
      if (error === undefined) log.debug(fields, `concord-kv ${m.method} ok`);
      else log.warn(fields, `concord-kv ${m.method} failed: ${(error as Error).message ?? String(error)}`);
    }
  }
}

export const now: () => number = () => performance.now();

const decoder = new TextDecoder();

/** A key as text for messages: bytes decoded as UTF-8, cut to {@link KEY_PREVIEW_CHARS}. */
export function keyPreview(key: unknown): string | undefined {
  let s: string;
  if (typeof key === 'string') s = key;
  else if (key instanceof Uint8Array) {
    // Decode no more bytes than could make the preview (4 bytes per character at most).
    s = decoder.decode(key.subarray(0, KEY_PREVIEW_CHARS * 4));
  } else return undefined;
  return s.length > KEY_PREVIEW_CHARS ? `${s.slice(0, KEY_PREVIEW_CHARS)}…` : s;
}

/** Fields a logger can serialise: bigints (lease IDs, revisions) as decimal text. */
function loggable(m: object): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = typeof v === 'bigint' ? v.toString() : v;
  return out;
}
