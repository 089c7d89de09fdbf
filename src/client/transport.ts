/**
 * What a transport gives the endpoint pool: a client per service and endpoint with nice-grpc's
 * call shapes (unary calls take a request and `{ signal }`; streams take and return async
 * iterables). The gRPC transport (grpc-transport.ts, Node only) and the fetch transport
 * (fetch-transport.ts, over etcd's JSON gateway) implement it, so KV, watch, lease and the
 * recipes run unchanged on either.
 *
 * This module and everything the fetch transport imports hold no runtime import of grpc-js:
 * bundlers targeting fetch-only runtimes follow them.
 */
import type {
  ChannelCredentials,
  ChannelOptions,
  CompatServiceDefinition,
  Client as ServiceClient,
} from 'nice-grpc';
import type { Metadata } from 'nice-grpc-common';
import type { TlsOptions } from './options.js';

export type { CompatServiceDefinition, ServiceClient };

export interface TransportSettings {
  /** The endpoints, normalised: one connection each, indexed as given. */
  endpoints: string[];
  /** Metadata sent with every call (auth token …): gRPC metadata, or HTTP headers on fetch. */
  metadata?: Record<string, string>;
}

/**
 * How calls reach the members: the gRPC and fetch transports implement it, and a custom one can
 * be given as the `transport` client option (for tests that inject faults, or another runtime's
 * HTTP stack). Clients per service have nice-grpc's call shapes, so everything above runs
 * unchanged on any transport.
 */
export interface Transport {
  /** The kind, for errors and diagnostics. */
  readonly kind: 'grpc' | 'fetch' | string;
  /** A client for `definition` on endpoint `i`, created on first use and cached. */
  client<D extends CompatServiceDefinition>(definition: D, i: number): ServiceClient<D>;
  /**
   * Call metadata for the long-lived streams (watch, keepalive): "hasleader" asks etcd to end
   * the stream when the member has no leader, so a stream held by a partitioned member fails
   * over instead of waiting silently.
   */
  streamMetadata(): Metadata | undefined;
  /** The etcd auth token sent with every call from now on (undefined: none). */
  setToken(token: string | undefined): void;
  /** Releases every connection; calls in flight are ended by the pool's close signal. */
  close(): void;
  /**
   * Replaces the endpoints (`autoSyncInterval`): index `i` names `endpoints[i]` from now on;
   * connections to endpoints kept are kept, the others released. Optional: a transport without
   * it cannot be used with `autoSyncInterval`.
   */
  setEndpoints?(endpoints: string[]): void;
}

/**
 * Marks on a Watch stream's responses for a transport whose progress answers are not ordered
 * with the events (the fetch transport answers `progressRequest` with a read on another
 * request, so the answer may overtake events still in flight):
 * - `PROGRESS_UNORDERED` on such an answer: the hub hands it to `requestProgress()` callers but
 *   does not take it as proof that a resuming watch caught up;
 * - `CAUGHT_UP` on a response carrying one watch's id and no events: the server had sent that
 *   watch everything up to the header's revision when it answered (a progress request sent on
 *   the watch's own stream right after its create).
 */
export const PROGRESS_UNORDERED: unique symbol = Symbol('concord-kv.progressUnordered');
export const CAUGHT_UP: unique symbol = Symbol('concord-kv.caughtUp');

/** An endpoint as a key for comparing lists: `http://` is the default and does not count. */
export function endpointKey(e: string): string {
  return e.replace(/^http:\/\//, '').replace(/\/$/, '');
}

/** What a transport factory is given: the client's options that concern transports. */
export interface TransportFactorySettings extends TransportSettings {
  /** gRPC channel credentials, as the client option. */
  credentials?: ChannelCredentials;
  /** TLS files, as the client option (the gRPC transport builds credentials from them). */
  tls?: TlsOptions;
  /** Extra grpc-js channel options, as the client option. */
  channelOptions?: ChannelOptions;
  /** The `fetch` to use, as the client option. */
  fetch?: typeof fetch;
  /** See `ClientOptions.keepalive`. */
  keepalive?: {
    /** How often a member holding streams is checked, in ms. */
    intervalMs: number;
    /** How long the check may take, in ms. */
    timeoutMs: number;
  };
}

/** Makes a transport for a client's settings (the `transport` client option may be one). */
export type TransportFactory = (settings: TransportFactorySettings) => Transport;
