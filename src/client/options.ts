/**
 * Client options, validated at construction with messages that quote the bad value.
 */
import type { ChannelCredentials, ChannelOptions } from 'nice-grpc';
import type { DiagnosticsLogger } from './diagnostics.js';
import type { TransportFactory } from './transport.js';

/** PEM text or bytes. */
export type Pem = string | Uint8Array;

/**
 * TLS towards the members (their --cert-file port; mutual TLS under --client-cert-auth). Only
 * checked here: the gRPC transport builds the credentials, so this module stays free of grpc-js.
 */
export interface TlsOptions {
  /** CA certificate(s) that sign the members' certificates (default: the system's CAs). */
  ca?: Pem;
  /** This client's certificate, for members started with --client-cert-auth (with `key`). */
  cert?: Pem;
  /** The private key of `cert`. */
  key?: Pem;
}

/**
 * What `new Client(options)` takes. Only `endpoints` is required; each option is checked at
 * construction, with a message that quotes the bad value.
 *
 * @example
 * ```ts
 * const client = new Client({
 *   endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379', 'https://10.0.0.3:2379'],
 *   tls: { ca: readFileSync('ca.pem') },
 *   auth: { username: 'app', password: process.env.ETCD_PASSWORD! },
 *   timeoutMs: 5_000,
 * });
 * ```
 */
export interface ClientOptions {
  /**
   * Members to talk to, as `host:port` or `http://host:port` (`https://` for TLS). Calls go to
   * one of them and fail over to the next when it is unavailable.
   */
  endpoints: string[] | string;
  /** Default deadline of every unary call in ms (default 10 000; 0 = none). Streams have none. */
  timeoutMs?: number;
  /** Attempts per call for errors that are safe to retry, within its deadline (default: 2 per endpoint, at least 10). */
  maxAttempts?: number;
  /** gRPC channel credentials (TLS); default insecure, or TLS for https:// endpoints. */
  credentials?: ChannelCredentials;
  /** TLS as etcdctl's --cacert/--cert/--key (gRPC transport); endpoints must be https://. */
  tls?: TlsOptions;
  /**
   * etcd auth: the client authenticates on its first call, sends the token with every call
   * after, and authenticates again (once per call) when the server says the token is no longer
   * valid (expired, password changed, auth revision moved on).
   */
  auth?: {
    /** The etcd user. */
    username: string;
    /** The user's password. */
    password: string;
  };
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /** Metadata sent with every call (e.g. `{ token }` for etcd auth). */
  metadata?: Record<string, string>;
  /**
   * How calls travel: `'grpc'` (HTTP/2, Node only), `'fetch'` (etcd's JSON gateway over the
   * runtime's `fetch`, for Workers, edge runtimes, browsers), `'auto'` (default: gRPC from the
   * Node entry point `concord`, fetch from `concord/fetch`), or a transport factory.
   */
  transport?: 'grpc' | 'fetch' | 'auto' | TransportFactory;
  /** The `fetch` the fetch transport uses (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Defaults for leases this client grants, including the ones recipes create: `ttl` in seconds
   * when a recipe is not told one (recipes' own default is 60), `keepAlive` (default true).
   */
  leases?: {
    /** TTL in seconds of the leases recipes create when not told one. */
    ttl?: number;
    /** Keep leases alive (default true); false suits functions that may be frozen. */
    keepAlive?: boolean;
  };
  /**
   * How a member holding long-lived streams (watches, keepalives) is checked for being hung: a
   * check every `intervalMs` that must be answered within `timeoutMs` (defaults 10 000 / 5 000),
   * else the streams move to another endpoint. gRPC: the channel's keepalive pings (etcd's
   * --grpc-keepalive-min-time, 5 s by default, refuses more frequent pings); fetch: a
   * serializable read from that member while watches are open.
   */
  keepalive?: {
    /** How often a member holding streams is checked, in ms (default 10 000). */
    intervalMs?: number;
    /** How long the check may take before the streams move, in ms (default 5 000). */
    timeoutMs?: number;
  };
  /**
   * Replace the endpoint list with the members' client URLs every `autoSyncInterval` ms (as Go's
   * clientv3 `AutoSyncInterval`), so a client given one member keeps working when that member
   * goes away, and follows members added later. Learners are left out. Default: off.
   */
  autoSyncInterval?: number;
  /**
   * Where this client logs what it does (failover, retries, lease loss, token refresh, every
   * request at debug level): pino, or `console`, or anything with `debug`, `info`, `warn` and
   * `error` taking `(fields, message)`. The same events go to `node:diagnostics_channel`
   * (docs/observability.md). Default: none.
   */
  logger?: DiagnosticsLogger;
}

export interface ResolvedOptions {
  endpoints: string[];
  timeoutMs: number;
  maxAttempts: number;
  credentials?: ChannelCredentials;
  tls?: TlsOptions;
  auth?: { username: string; password: string };
  channelOptions?: ChannelOptions;
  metadata?: Record<string, string>;
  transport: 'grpc' | 'fetch' | 'auto' | TransportFactory;
  fetch?: typeof fetch;
  leases: { ttl?: number; keepAlive: boolean };
  keepalive: { intervalMs: number; timeoutMs: number };
  autoSyncInterval?: number;
  logger?: DiagnosticsLogger;
}

const ENDPOINT = /^(?:(?:http|https):\/\/)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}\/?$/;

export function resolveOptions(o: ClientOptions): ResolvedOptions {
  if (o === null || typeof o !== 'object')
    throw new TypeError(`Client options must be an object, got ${String(o)}`);
  const endpoints = typeof o.endpoints === 'string' ? o.endpoints.split(',') : o.endpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new TypeError(
      `endpoints must be a non-empty list of host:port, got ${JSON.stringify(o.endpoints)}`,
    );
  }
  const clean = endpoints.map((e) => (typeof e === 'string' ? e.trim() : e));
  for (const e of clean) {
    if (typeof e !== 'string' || !ENDPOINT.test(e)) {
      throw new TypeError(`invalid endpoint ${JSON.stringify(e)}: expected host:port or http(s)://host:port`);
    }
  }
  const timeoutMs = o.timeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new TypeError(`timeoutMs must be a non-negative number, got ${String(o.timeoutMs)}`);
  }
  const maxAttempts = o.maxAttempts ?? Math.max(10, clean.length * 2);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError(`maxAttempts must be a positive integer, got ${String(o.maxAttempts)}`);
  }
  const transport = o.transport ?? 'auto';
  if (
    typeof transport !== 'function' &&
    transport !== 'grpc' &&
    transport !== 'fetch' &&
    transport !== 'auto'
  ) {
    throw new TypeError(
      `transport must be 'grpc', 'fetch', 'auto' or a factory, got ${JSON.stringify(transport)}`,
    );
  }
  if (o.fetch !== undefined && typeof o.fetch !== 'function') {
    throw new TypeError(`fetch must be a function, got ${String(o.fetch)}`);
  }
  const leaseTtl = o.leases?.ttl;
  if (leaseTtl !== undefined && (!Number.isFinite(leaseTtl) || leaseTtl <= 0)) {
    throw new TypeError(`leases.ttl must be a positive number of seconds, got ${String(leaseTtl)}`);
  }
  const keepalive = {
    intervalMs: o.keepalive?.intervalMs ?? 10_000,
    timeoutMs: o.keepalive?.timeoutMs ?? 5_000,
  };
  for (const [k, v] of Object.entries(keepalive)) {
    if (!Number.isFinite(v) || v <= 0)
      throw new TypeError(`keepalive.${k} must be a positive number, got ${String(v)}`);
  }
  const sync = o.autoSyncInterval;
  if (sync !== undefined && (!Number.isFinite(sync) || sync <= 0))
    throw new TypeError(`autoSyncInterval must be a positive number of ms, got ${String(sync)}`);
  const logger = o.logger;
  if (
    logger !== undefined &&
    (logger === null ||
      typeof logger !== 'object' ||
      (['debug', 'info', 'warn', 'error'] as const).some((l) => typeof logger[l] !== 'function'))
  )
    throw new TypeError('logger must have debug, info, warn and error methods (pino or console fit)');
  if (
    o.auth !== undefined &&
    (o.auth === null ||
      typeof o.auth !== 'object' ||
      typeof o.auth.username !== 'string' ||
      o.auth.username === '' ||
      typeof o.auth.password !== 'string')
  ) {
    throw new TypeError(
      `auth must be { username, password } with a non-empty username, got ${JSON.stringify(o.auth && { ...o.auth, password: '…' })}`,
    );
  }
  return {
    auth: o.auth && { username: o.auth.username, password: o.auth.password },
    endpoints: clean.map((e) => e.replace(/\/$/, '')),
    timeoutMs,
    maxAttempts,
    credentials: o.credentials,
    tls: o.tls === undefined ? undefined : checkTls(o, clean),
    channelOptions: o.channelOptions,
    metadata: o.metadata,
    transport,
    fetch: o.fetch,
    leases: { ttl: leaseTtl, keepAlive: o.leases?.keepAlive ?? true },
    keepalive,
    autoSyncInterval: sync,
    logger,
  };
}

function checkPem(v: Pem | undefined, what: string): void {
  if (v !== undefined && typeof v !== 'string' && !(v instanceof Uint8Array))
    throw new TypeError(`tls.${what} must be PEM text or bytes, got ${typeof v}`);
}

function checkTls(o: ClientOptions, endpoints: string[]): TlsOptions {
  const t = o.tls;
  if (t === null || typeof t !== 'object')
    throw new TypeError(`tls must be an object { ca?, cert?, key? }, got ${String(t)}`);
  if (o.credentials !== undefined) throw new TypeError('give either tls or credentials, not both');
  checkPem(t.ca, 'ca');
  checkPem(t.cert, 'cert');
  checkPem(t.key, 'key');
  if ((t.cert === undefined) !== (t.key === undefined))
    throw new TypeError('tls.cert and tls.key must be given together');
  const plain = endpoints.find((e) => e.startsWith('http://'));
  if (plain !== undefined)
    throw new TypeError(`endpoint ${JSON.stringify(plain)} is plain http but tls is set: use https://`);
  return t;
}
