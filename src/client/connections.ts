/**
 * The endpoint pool: one lazily created gRPC channel per endpoint, an "active" endpoint that
 * calls go to, failover to the next endpoint when the active one is unavailable, and the retry
 * rule for unary calls (reads retry on any member that cannot serve; writes only when the
 * request certainly never left).
 *
 * Idle channels hold nothing open that keeps Node alive: grpc-js unrefs an HTTP/2 session with
 * no active streams, and every timer here is unref'd unless a caller waits on it.
 */
import { setMaxListeners } from 'node:events';
import { isAbortError } from 'abort-controller-x';
import {
  type Channel,
  type ChannelCredentials,
  type ChannelOptions,
  type CompatServiceDefinition,
  createChannel,
  createClient,
  type Client as GrpcClient,
} from 'nice-grpc';
import { Metadata } from 'nice-grpc-common';
import { AuthDefinition } from '../gen/etcdserverpb/rpc.js';
import { type CallOptions, CallScope, delay } from './call-options.js';
import { ClientClosedError, isRetryableRead, toEtcdError, UnavailableError, wasNotSent } from './errors.js';

/** Refusals that a fresh token cures (clientv3's shouldRefreshToken). */
const STALE_TOKEN = new Set([
  'etcdserver: invalid auth token',
  'etcdserver: user name is empty',
  'etcdserver: revision of auth store is old',
]);

export interface ConnectionSettings {
  endpoints: string[];
  timeoutMs: number;
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** Attempts per unary call, across endpoints, for errors that are safe to retry. */
  maxAttempts: number;
  /** Metadata sent with every call (auth token …). */
  metadata?: Record<string, string>;
  /** Credentials to authenticate with (etcd auth); the token then goes with every call. */
  auth?: { username: string; password: string };
}

export type CallKind = 'read' | 'write';

export class Connections {
  readonly settings: ConnectionSettings;
  #channels: (Channel | undefined)[];
  #clients = new Map<string, GrpcClient<CompatServiceDefinition>>();
  #active = 0;
  #closed = false;
  readonly #closeController = new AbortController();
  /** Every call's default metadata; the auth token is set in it in place when it changes. */
  readonly #metadata: Metadata;
  #token: string | undefined;
  #authenticating: Promise<void> | undefined;

  constructor(settings: ConnectionSettings) {
    this.settings = settings;
    this.#metadata = toMeta(settings.metadata ?? {});
    // Every pending unary call listens here (see CallScope): no max-listeners leak warning.
    setMaxListeners(0, this.#closeController.signal);
    this.#channels = settings.endpoints.map(() => undefined);
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

  #channel(i: number): Channel {
    if (this.#closed) throw new ClientClosedError('client is closed');
    let ch = this.#channels[i];
    if (!ch) {
      ch = createChannel(this.settings.endpoints[i]!, this.settings.credentials, {
        'grpc.max_receive_message_length': 2 ** 31 - 1,
        'grpc.max_send_message_length': 2 ** 31 - 1,
        // channelz bookkeeping runs on every call; nothing in the SDK reads it.
        'grpc.enable_channelz': 0,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2000,
        // A hung member holding a watch or keepalive stream is noticed in ~15 s. etcd's
        // --grpc-keepalive-min-time defaults to 5 s: pinging more often gets the connection
        // closed with "too_many_pings".
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        ...this.settings.channelOptions,
      });
      this.#channels[i] = ch;
    }
    return ch;
  }

  /** A typed client for `definition` on endpoint `i` (default: the active one). */
  client<D extends CompatServiceDefinition>(definition: D, i = this.#active): GrpcClient<D> {
    const id = `${(definition as { fullName?: string }).fullName ?? ''}#${i}`;
    let c = this.#clients.get(id);
    if (!c) {
      c = createClient(definition, this.#channel(i), { '*': { metadata: this.#metadata } });
      this.#clients.set(id, c);
    }
    return c as GrpcClient<D>;
  }

  /**
   * Metadata for the long-lived streams (watch, keepalive). "hasleader" asks etcd to end the
   * stream when the member has no leader, so a stream held by a partitioned member fails over
   * instead of waiting silently. The client's own metadata (auth token …) is merged in: a
   * call's `metadata` replaces the client's default metadata in nice-grpc, and passing
   * `{ hasleader }` alone made etcd with auth enabled refuse every watch ("user name is empty").
   */
  async streamMetadata(i: number, signal: AbortSignal): Promise<Metadata> {
    await this.#ensureToken(i, signal);
    const md = new Metadata(this.#metadata);
    md.set('hasleader', 'true');
    return md;
  }

  /** Authenticates first when credentials are set and no token is held (one exchange at a time). */
  async #ensureToken(i: number, signal: AbortSignal): Promise<void> {
    const auth = this.settings.auth;
    if (!auth || this.#token !== undefined) return;
    this.#authenticating ??= (async () => {
      try {
        // Without the client's metadata: an old token must not ride along.
        const c = createClient(AuthDefinition, this.#channel(i));
        const { token } = await c.authenticate({ name: auth.username, password: auth.password }, { signal });
        this.#token = token;
        this.#metadata.set('token', token);
      } finally {
        this.#authenticating = undefined;
      }
    })();
    return this.#authenticating;
  }

  /** Drops a token the server refused, unless another call replaced it meanwhile. */
  #dropToken(token: string | undefined): void {
    if (this.#token !== token) return;
    this.#token = undefined;
    this.#metadata.delete('token');
  }

  /** The active endpoint failed: later calls go to the next one. */
  failed(i: number): void {
    if (i === this.#active && this.settings.endpoints.length > 1) {
      this.#active = (i + 1) % this.settings.endpoints.length;
    }
  }

  /**
   * Runs a unary call with the caller's deadline and signal, failing over and retrying when
   * that cannot apply a write twice.
   */
  async unary<T>(
    kind: CallKind,
    opts: CallOptions | undefined,
    call: (i: number, signal: AbortSignal) => Promise<T>,
  ) {
    if (this.#closed) throw new ClientClosedError('client is closed');
    const scope = new CallScope(opts, this.settings.timeoutMs, this.#closeController.signal);
    let reauthenticated = false;
    try {
      for (let attempt = 1; ; attempt++) {
        scope.throwIfAborted();
        const i = this.#active;
        const token = this.#token;
        try {
          await this.#ensureToken(i, scope.signal);
          return await call(i, scope.signal);
        } catch (e) {
          if (scope.signal.aborted) {
            // A member that let the deadline pass may be hung (paused, partitioned): the next
            // call tries another one rather than waiting on it again.
            if (scope.timedOut) this.failed(i);
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
          try {
            await delay(backoff(attempt, this.settings.endpoints.length), scope.signal);
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
    for (const ch of this.#channels) ch?.close();
    this.#channels = [];
    this.#clients.clear();
  }
}

/** Quick hops across endpoints first, then exponential back-off capped at 1 s. */
export function backoff(attempt: number, endpoints: number): number {
  if (attempt < endpoints) return 10;
  return Math.min(1000, 50 * 2 ** (attempt - endpoints));
}

function staleToken(err: unknown): boolean {
  return err instanceof Error && STALE_TOKEN.has(err.message);
}

function toMeta(m: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(m)) md.set(k, v);
  return md;
}
