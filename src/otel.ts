/**
 * OpenTelemetry spans for the SDK's calls, built on its diagnostics channels (as undici's and
 * pg's instrumentations are): one CLIENT span per unary call, named after etcd's RPC
 * (`etcdserverpb.KV/Range`), with OTel's RPC and database attributes. Nothing of it runs until
 * an instrumentation is enabled, and a client whose channels nobody hears pays nothing.
 *
 * Node only (and runtimes with `node:diagnostics_channel`); `@opentelemetry/api` is an optional
 * peer dependency, needed by this entry point alone.
 *
 * @module concord-kv/otel
 */
import diagnostics_channel from 'node:diagnostics_channel';
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { CHANNELS, type RequestMessage } from './client/diagnostics.js';

/** This package's version, as the instrumentation reports it (a unit test keeps it in step). */
export const INSTRUMENTATION_VERSION = '0.1.0';
const NAME = 'concord-kv';

/** What `new ConcordInstrumentation()` takes. */
export interface ConcordInstrumentationConfig {
  /** Start listening at construction (default true). */
  enabled?: boolean;
  /** Where spans go (default: the global tracer provider). */
  tracerProvider?: TracerProvider;
}

/**
 * The SDK's OpenTelemetry instrumentation: a span per unary call, with attributes `rpc.system`
 * (`grpc`), `rpc.service`, `rpc.method`, `rpc.grpc.status_code`, `db.system` (`etcd`),
 * `server.address`, `server.port`, `error.type` on failure (the error's `code`), and
 * `concord_kv.transport` and `concord_kv.attempts`. It has the shape of an
 * `@opentelemetry/instrumentation` Instrumentation, so `registerInstrumentations()` takes it.
 *
 * @example
 * ```ts no-run
 * // no-run: needs an OpenTelemetry SDK set up by the application.
 * import { ConcordInstrumentation } from 'concord-kv/otel';
 * const instrumentation = new ConcordInstrumentation(); // spans go to the global provider
 * ```
 */
export class ConcordInstrumentation {
  /** The instrumentation's name, as OpenTelemetry reports it. */
  readonly instrumentationName = NAME;
  /** The instrumentation's version. */
  readonly instrumentationVersion = INSTRUMENTATION_VERSION;
  #config: ConcordInstrumentationConfig;
  #tracer: Tracer;
  #enabled = false;
  /** Each call's span, by its message object (one per call, across its events). */
  readonly #spans = new WeakMap<RequestMessage, Span>();
  readonly #handlers = {
    start: (m: unknown) => this.#start(m as RequestMessage),
    end: () => {},
    asyncStart: () => {},
    asyncEnd: (m: unknown) => this.#end(m as RequestMessage),
    error: () => {},
  };

  constructor(config: ConcordInstrumentationConfig = {}) {
    this.#config = { ...config };
    this.#tracer = tracerOf(config.tracerProvider);
    if (config.enabled !== false) this.enable();
  }

  /** Starts making spans. Idempotent. */
  enable(): void {
    if (this.#enabled) return;
    this.#enabled = true;
    diagnostics_channel.tracingChannel(CHANNELS.request).subscribe(this.#handlers);
  }

  /** Stops making spans (calls in flight end theirs). Idempotent. */
  disable(): void {
    if (!this.#enabled) return;
    this.#enabled = false;
    diagnostics_channel.tracingChannel(CHANNELS.request).unsubscribe(this.#handlers);
  }

  /** Spans go to `provider` from now on. */
  setTracerProvider(provider: TracerProvider): void {
    this.#tracer = tracerOf(provider);
  }

  /** No metrics yet: a no-op, for the Instrumentation interface. */
  setMeterProvider(_provider: unknown): void {}

  /** The configuration. */
  getConfig(): ConcordInstrumentationConfig {
    return { ...this.#config };
  }

  /** Replaces the configuration (`tracerProvider` takes effect at once). */
  setConfig(config: ConcordInstrumentationConfig): void {
    this.#config = { ...config };
    if (config.tracerProvider) this.#tracer = tracerOf(config.tracerProvider);
  }

  #start(m: RequestMessage): void {
    const slash = m.method.lastIndexOf('/');
    const attributes: Attributes = {
      'rpc.system': 'grpc',
      'rpc.service': m.method.slice(0, Math.max(0, slash)),
      'rpc.method': m.method.slice(slash + 1),
      'db.system': 'etcd',
      'concord_kv.transport': m.transport,
      ...serverAttributes(m.endpoint),
    };
    const span = this.#tracer.startSpan(m.method, { kind: SpanKind.CLIENT, attributes }, context.active());
    this.#spans.set(m, span);
  }

  #end(m: RequestMessage): void {
    const span = this.#spans.get(m);
    if (!span) return;
    this.#spans.delete(m);
    // A retry may have ended on another member than the first attempt went to.
    span.setAttributes({ ...serverAttributes(m.endpoint), 'concord_kv.attempts': m.attempts });
    if (m.outcome === 'ok') {
      span.setAttribute('rpc.grpc.status_code', 0);
    } else {
      if (m.grpcCode !== undefined) span.setAttribute('rpc.grpc.status_code', m.grpcCode);
      span.setAttribute('error.type', m.code ?? 'unknown');
      const e = m.error;
      if (e instanceof Error) span.recordException(e);
      span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
    }
    span.end();
  }
}

function tracerOf(provider: TracerProvider | undefined): Tracer {
  return (provider ?? trace.getTracerProvider()).getTracer(NAME, INSTRUMENTATION_VERSION);
}

/** `server.address` and `server.port` of an endpoint (`host:port`, `[v6]:port`, with or without a scheme). */
function serverAttributes(endpoint: string): Attributes {
  const m = /^(?:[a-z]+:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/i.exec(endpoint);
  if (!m) return { 'server.address': endpoint };
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return m[2] === undefined
    ? { 'server.address': host }
    : { 'server.address': host, 'server.port': Number(m[2]) };
}
