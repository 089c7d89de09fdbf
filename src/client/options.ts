/**
 * Client options, validated at construction with messages that quote the bad value.
 */
import type { ChannelCredentials, ChannelOptions } from 'nice-grpc';

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
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /** Metadata sent with every call (e.g. `{ token }` for etcd auth). */
  metadata?: Record<string, string>;
  /**
   * etcd auth: the client authenticates on its first call, sends the token with every call
   * after, and authenticates again (once per call) when the server says the token is no longer
   * valid (expired, password changed, auth revision moved on).
   */
  auth?: { username: string; password: string };
}

export interface ResolvedOptions {
  endpoints: string[];
  timeoutMs: number;
  maxAttempts: number;
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  metadata?: Record<string, string>;
  auth?: { username: string; password: string };
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
    endpoints: clean.map((e) => e.replace(/\/$/, '')),
    timeoutMs,
    maxAttempts,
    credentials: o.credentials,
    channelOptions: o.channelOptions,
    metadata: o.metadata,
    auth: o.auth && { username: o.auth.username, password: o.auth.password },
  };
}
