/**
 * The gRPC transport (Node): one lazily created HTTP/2 channel per endpoint, through nice-grpc.
 * Only the Node entry point (src/index.ts) imports this module, so bundles built from the
 * fetch entry point (src/fetch.ts) never contain grpc-js.
 *
 * Idle channels hold nothing open that keeps Node alive: grpc-js unrefs an HTTP/2 session with
 * no active streams.
 */
import {
  type Channel,
  ChannelCredentials,
  type ChannelOptions,
  type CompatServiceDefinition,
  createChannel,
  createClient,
  type Client as GrpcClient,
} from 'nice-grpc';
import { Metadata } from 'nice-grpc-common';
import { wireDefinition } from '../gen/wire.js';
import { ClientClosedError } from './errors.js';
import type { Pem, TlsOptions } from './options.js';
import { endpointKey, type Transport, type TransportSettings } from './transport.js';

/** What the gRPC transport is made with: the client's options that concern it. */
export interface GrpcTransportSettings extends TransportSettings {
  /** gRPC channel credentials; default insecure (or TLS from `tls`). */
  credentials?: ChannelCredentials;
  /** Used when `credentials` is not given (checked by resolveOptions). */
  tls?: TlsOptions;
  /** Extra grpc-js channel options, applied over the transport's own. */
  channelOptions?: ChannelOptions;
  /** The channel's keepalive pings (see `ClientOptions.keepalive`). */
  keepalive?: {
    /** `grpc.keepalive_time_ms` (default 10 000). */
    intervalMs: number;
    /** `grpc.keepalive_timeout_ms` (default 5 000). */
    timeoutMs: number;
  };
}

/**
 * The gRPC transport (Node only): one HTTP/2 channel per endpoint, created on first use. The
 * Node `Client` uses it by default; `grpcTransport` is its factory, for a custom transport that wraps it.
 */
export class GrpcTransport implements Transport {
  readonly kind = 'grpc';
  #settings: GrpcTransportSettings;
  #channels: (Channel | undefined)[];
  #clients = new Map<string, GrpcClient<CompatServiceDefinition>>();
  #closed = false;
  /** Every call's default metadata, shared by the clients: the auth token changes in place. */
  readonly #metadata: Metadata;

  constructor(settings: GrpcTransportSettings) {
    const t = settings.tls;
    const pem = (v: Pem | undefined) => (v === undefined ? null : Buffer.from(v));
    this.#settings =
      t && !settings.credentials
        ? { ...settings, credentials: ChannelCredentials.createSsl(pem(t.ca), pem(t.key), pem(t.cert)) }
        : settings;
    this.#channels = settings.endpoints.map(() => undefined);
    this.#metadata = toMeta(settings.metadata ?? {});
  }

  #channel(i: number): Channel {
    if (this.#closed) throw new ClientClosedError('client is closed');
    let ch = this.#channels[i];
    if (!ch) {
      ch = createChannel(this.#settings.endpoints[i]!, this.#settings.credentials, {
        'grpc.max_receive_message_length': 2 ** 31 - 1,
        'grpc.max_send_message_length': 2 ** 31 - 1,
        // channelz bookkeeping runs on every call; nothing in the SDK reads it.
        'grpc.enable_channelz': 0,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2000,
        // A hung member holding a watch or keepalive stream is noticed in ~15 s by default.
        // etcd's --grpc-keepalive-min-time defaults to 5 s: pinging more often gets the
        // connection closed with "too_many_pings".
        'grpc.keepalive_time_ms': this.#settings.keepalive?.intervalMs ?? 10_000,
        'grpc.keepalive_timeout_ms': this.#settings.keepalive?.timeoutMs ?? 5_000,
        ...this.#settings.channelOptions,
      });
      this.#channels[i] = ch;
    }
    return ch;
  }

  client<D extends CompatServiceDefinition>(definition: D, i: number): GrpcClient<D> {
    const id = `${(definition as { fullName?: string }).fullName ?? ''}#${i}`;
    let c = this.#clients.get(id);
    if (!c) {
      // The SDK passes the JSON-only definitions (gen/services.ts): gRPC needs the binary codecs.
      c = createClient(wireDefinition(definition), this.#channel(i), { '*': { metadata: this.#metadata } });
      this.#clients.set(id, c);
    }
    return c as GrpcClient<D>;
  }

  /**
   * The client's own metadata (auth token …) is merged in: a call's `metadata` replaces the
   * client's default metadata in nice-grpc, and passing `{ hasleader }` alone made etcd with
   * auth enabled refuse every watch ("user name is empty").
   */
  streamMetadata(): Metadata {
    const md = new Metadata(this.#metadata);
    md.set('hasleader', 'true');
    return md;
  }

  setToken(token: string | undefined): void {
    if (token === undefined) this.#metadata.delete('token');
    else this.#metadata.set('token', token);
  }

  setEndpoints(endpoints: string[]): void {
    if (this.#closed) return;
    const old = new Map(this.#settings.endpoints.map((e, j) => [endpointKey(e), this.#channels[j]]));
    this.#channels = endpoints.map((e) => {
      const ch = old.get(endpointKey(e));
      old.delete(endpointKey(e));
      return ch;
    });
    // Streams still open on a dropped member end when it goes; closing its channel stops
    // reconnects to it.
    for (const ch of old.values()) ch?.close();
    this.#settings = { ...this.#settings, endpoints };
    this.#clients.clear();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ch of this.#channels) ch?.close();
    this.#channels = [];
    this.#clients.clear();
  }
}

/** A transport factory for the gRPC transport, for the `transport` client option. */
export const grpcTransport = (settings: GrpcTransportSettings): Transport => new GrpcTransport(settings);

function toMeta(m: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(m)) md.set(k, v);
  return md;
}
