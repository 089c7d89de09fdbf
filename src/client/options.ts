/**
 * Client options, validated at construction with messages that quote the bad value.
 */
import { ChannelCredentials, type ChannelOptions } from 'nice-grpc';

/** PEM text or bytes. */
export type Pem = string | Uint8Array;

/** TLS towards the members (their --cert-file port; mutual TLS under --client-cert-auth). */
export interface TlsOptions {
  /** CA certificate(s) that sign the members' certificates (default: the system's CAs). */
  ca?: Pem;
  /** This client's certificate, for members started with --client-cert-auth (with `key`). */
  cert?: Pem;
  /** The private key of `cert`. */
  key?: Pem;
}

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
  /**
   * TLS (like etcdctl's --cacert, --cert, --key): every endpoint is then spoken to over TLS
   * (`https://host:port` or `host:port`; an `http://` endpoint is refused).
   */
  tls?: TlsOptions;
  /** gRPC channel credentials (instead of `tls`); default insecure, or TLS for https:// endpoints. */
  credentials?: ChannelCredentials;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /** Metadata sent with every call (e.g. `{ token }` for etcd auth). */
  metadata?: Record<string, string>;
}

export interface ResolvedOptions {
  endpoints: string[];
  timeoutMs: number;
  maxAttempts: number;
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  metadata?: Record<string, string>;
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
  return {
    endpoints: clean.map((e) => e.replace(/\/$/, '')),
    timeoutMs,
    maxAttempts,
    credentials: o.tls === undefined ? o.credentials : tlsCredentials(o, clean),
    channelOptions: o.channelOptions,
    metadata: o.metadata,
  };
}

const pem = (v: Pem | undefined, what: string): Buffer | null => {
  if (v === undefined) return null;
  if (typeof v !== 'string' && !(v instanceof Uint8Array))
    throw new TypeError(`tls.${what} must be PEM text or bytes, got ${typeof v}`);
  return Buffer.from(v);
};

function tlsCredentials(o: ClientOptions, endpoints: string[]): ChannelCredentials {
  const t = o.tls;
  if (t === null || typeof t !== 'object')
    throw new TypeError(`tls must be an object { ca?, cert?, key? }, got ${String(t)}`);
  if (o.credentials !== undefined) throw new TypeError('give either tls or credentials, not both');
  if ((t.cert === undefined) !== (t.key === undefined))
    throw new TypeError('tls.cert and tls.key must be given together');
  const plain = endpoints.find((e) => e.startsWith('http://'));
  if (plain !== undefined)
    throw new TypeError(`endpoint ${JSON.stringify(plain)} is plain http but tls is set: use https://`);
  return ChannelCredentials.createSsl(pem(t.ca, 'ca'), pem(t.key, 'key'), pem(t.cert, 'cert'));
}
