/**
 * The fetch transport: every call is an HTTP/1.1 `POST` to etcd's JSON gateway (`/v3/kv/range`,
 * `/v3/watch` …) through the runtime's `fetch`, for runtimes with no HTTP/2 bidirectional
 * streams (Cloudflare Workers, Vercel Edge, Deno Deploy, browsers). It speaks to Concord and to
 * etcd's own gateway alike: requests in the proto3 JSON mapping (which both accept), answers in
 * etcd's (proto field names, 64-bit integers as strings, bytes in base64).
 *
 * The gRPC call shapes are kept, so the watch hub and the lease keeper run unchanged on it:
 * - a bidirectional Watch stream becomes one streamed `POST /v3/watch` per watch (a request body
 *   cannot stay open in these runtimes); each answer's watch id is renumbered so the ids stay
 *   unique across them, a cancel aborts that watch's request, and any request failing fails
 *   the whole stream, so the hub reconnects every watch from its next revision as it does on
 *   gRPC. A progress request has no stream to go on: it is answered with the store's current
 *   revision (a linearizable count-only read) as a progress notification for every watch, which
 *   may arrive ahead of events it covers, so it is marked `PROGRESS_UNORDERED` (the hub neither
 *   advances a watch's resume revision nor ends its `resuming` on it). What a resuming watch
 *   needs, "everything up to here has been sent", comes instead from a progress request put in
 *   the same body right after the create: Concord (and etcd >= 3.4.25 / 3.5.8) answer it on
 *   that stream once the watch has caught up, and it is handed on as that watch's `CAUGHT_UP`.
 * - a LeaseKeepAlive stream becomes one `POST /v3/lease/keepalive` per keepalive.
 *
 * Errors: etcd 3.4's `{"error", "message", "code"}`, etcd 3.5+'s `{"code", "message", "details"}`
 * and the stream error objects of grpc-gateway v1 and v2 all become the ClientError the gRPC
 * transport would have thrown, so errors.ts maps them to the same typed errors.
 *
 * This file holds the connections and the stream shapes; the JSON codec (the gateway's paths,
 * request bodies, answers and streams, error mapping) is in fetch-codec.ts.
 */
import { ClientError, type Metadata, Status } from 'nice-grpc-common';
import { AsyncQueue } from './async-queue.js';
import { ClientClosedError } from './errors.js';
import {
  encodeRequest,
  type MethodDef,
  ndjson,
  networkError,
  PATHS,
  readJson,
  throwResponseError,
} from './fetch-codec.js';
import type { TlsOptions } from './options.js';
import {
  CAUGHT_UP,
  type CompatServiceDefinition,
  PROGRESS_UNORDERED,
  type ServiceClient,
  type Transport,
  type TransportSettings,
} from './transport.js';

/** What the fetch transport is made with: the client's options that concern it. */
export interface FetchTransportSettings extends TransportSettings {
  /** Refused when it names a CA or a client certificate (see the constructor). */
  tls?: TlsOptions;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** While watches are open, a serializable read from their member every `intervalMs` must answer within `timeoutMs`. */
  keepalive?: {
    /** How often the member holding watches is read, in ms. */
    intervalMs: number;
    /** How long that read may take before the watches move, in ms. */
    timeoutMs: number;
  };
}

interface CallOpts {
  signal?: AbortSignal;
  metadata?: Metadata;
}

/** Where a bidirectional call goes: member `i`, the method, and its gateway path. */
interface Target {
  i: number;
  grpcPath: string;
  path: string;
  m: MethodDef;
}

/**
 * The fetch transport: every call a `POST` to etcd's JSON gateway through the runtime's `fetch`,
 * for runtimes without HTTP/2 streams (Workers, edge functions, Deno Deploy, browsers). TLS is the
 * runtime's own: `https://` endpoints it trusts, no CA or client certificate of ours.
 */
export class FetchTransport implements Transport {
  readonly kind = 'fetch';
  readonly #settings: FetchTransportSettings;
  readonly #fetch: typeof fetch;
  #bases: string[];
  readonly #headers: Record<string, string>;
  readonly #clients = new Map<string, unknown>();
  #closed = false;

  constructor(settings: FetchTransportSettings) {
    this.#settings = settings;
    // fetch takes no CA or client certificate: it trusts what the runtime trusts.
    const tls = settings.tls;
    if (tls?.ca !== undefined || tls?.cert !== undefined)
      throw new TypeError(
        "tls { ca, cert, key } needs the gRPC transport: fetch uses the runtime's own TLS (https:// endpoints it trusts)",
      );
    const f = settings.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (typeof f !== 'function')
      throw new TypeError('the fetch transport needs a global fetch or the `fetch` option');
    // Called as a plain function: a browser refuses its fetch called as another object's method.
    this.#fetch = (input, init) => f(input, init);
    this.#bases = settings.endpoints.map(baseUrl);
    this.#headers = { 'content-type': 'application/json' };
    for (const [k, v] of Object.entries(settings.metadata ?? {})) {
      // etcd's gateway takes the auth token as the Authorization header, other metadata as
      // grpc-gateway forwards it: Grpc-Metadata-<key>.
      if (k.toLowerCase() === 'token' || k.toLowerCase() === 'authorization') this.#headers.authorization = v;
      else this.#headers[`grpc-metadata-${k}`] = v;
    }
  }

  streamMetadata(): undefined {
    return undefined;
  }

  setToken(token: string | undefined): void {
    if (token === undefined) delete this.#headers.authorization;
    else this.#headers.authorization = token;
  }

  close(): void {
    this.#closed = true;
    this.#clients.clear();
  }

  setEndpoints(endpoints: string[]): void {
    this.#bases = endpoints.map(baseUrl);
    this.#clients.clear();
  }

  client<D extends CompatServiceDefinition>(definition: D, i: number): ServiceClient<D> {
    if (this.#closed) throw new ClientClosedError('client is closed');
    const fullName = (definition as { fullName?: string }).fullName ?? '';
    const id = `${fullName}#${i}`;
    let c = this.#clients.get(id);
    if (!c) {
      const methods: Record<string, unknown> = {};
      for (const [key, m] of Object.entries(definition.methods as unknown as Record<string, MethodDef>)) {
        methods[key] = this.#method(i, `/${fullName}/${m.name}`, m);
      }
      c = methods;
      this.#clients.set(id, c);
    }
    return c as ServiceClient<D>;
  }

  #method(i: number, grpcPath: string, m: MethodDef) {
    const path = PATHS[grpcPath];
    const unimplemented = () =>
      new ClientError(grpcPath, Status.UNIMPLEMENTED, `${grpcPath} is not available over the JSON gateway`);
    const body = (req: unknown) => encodeRequest(m, req);
    if (m.requestStream && m.responseStream) {
      if (!path) return () => failing(unimplemented());
      const to: Target = { i, grpcPath, path, m };
      if (grpcPath === '/etcdserverpb.Watch/Watch') {
        return (requests: AsyncIterable<unknown>, o: CallOpts = {}) => this.#watch(to, requests, o);
      }
      return (requests: AsyncIterable<unknown>, o: CallOpts = {}) => this.#each(to, requests, o);
    }
    if (m.responseStream) {
      return (req: unknown, o: CallOpts = {}) => {
        if (!path) return failing(unimplemented());
        return this.#serverStream(i, grpcPath, path, m, body(req), o);
      };
    }
    return async (req: unknown, o: CallOpts = {}) => {
      if (!path) throw unimplemented();
      const res = await this.#post(i, grpcPath, path, body(req), o.signal, false);
      return m.responseType.fromJSON(await readJson(res, grpcPath));
    };
  }

  /** POSTs `body`; a non-2xx answer throws the ClientError its body (or status) stands for. */
  async #post(
    i: number,
    grpcPath: string,
    path: string,
    body: string,
    signal: AbortSignal | undefined,
    stream: boolean,
  ): Promise<Response> {
    const base = this.#bases[i];
    if (base === undefined) throw new RangeError(`no endpoint ${i}`);
    const headers =
      stream && !IN_BROWSER ? { ...this.#headers, 'grpc-metadata-hasleader': 'true' } : this.#headers;
    let res: Response;
    try {
      res = await this.#fetch(`${base}${path}`, { method: 'POST', headers, body, signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw networkError(grpcPath, e);
    }
    if (res.ok) return res;
    return throwResponseError(res, grpcPath);
  }

  /** One streamed POST: the body's lines, as JSON. */
  async *#lines(i: number, grpcPath: string, path: string, body: string, o: CallOpts) {
    yield* ndjson(await this.#post(i, grpcPath, path, body, o.signal, true), grpcPath);
  }

  async *#serverStream(i: number, grpcPath: string, path: string, m: MethodDef, body: string, o: CallOpts) {
    for await (const line of this.#lines(i, grpcPath, path, body, o))
      yield m.responseType.fromJSON(line.result);
  }

  /** A bidirectional call with one answer per request: one POST per request. */
  async *#each(to: Target, requests: AsyncIterable<unknown>, o: CallOpts) {
    const { i, grpcPath, path, m } = to;
    const it = requests[Symbol.asyncIterator]();
    for (;;) {
      const n = await nextUnlessAborted(it, o.signal);
      if (!n || n.done) return;
      let answered = false;
      // The answer is the first line; the rest of the body is read to its end, and dropped.
      for await (const line of this.#lines(i, grpcPath, path, encodeRequest(m, n.value), o)) {
        if (answered) continue;
        answered = true;
        yield m.responseType.fromJSON(line.result);
      }
      if (!answered) throw new ClientError(grpcPath, Status.UNAVAILABLE, 'stream ended without an answer');
    }
  }

  /** The Watch stream, as one streamed POST per watch (see the module comment). */
  #watch(to: Target, requests: AsyncIterable<unknown>, o: CallOpts): AsyncIterable<unknown> {
    const { i, grpcPath, path, m } = to;
    const out = new AsyncQueue<unknown>();
    const all = new AbortController();
    const onAbort = () => {
      all.abort();
      out.end();
    };
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });
    const fail = (e: unknown) => {
      if (all.signal.aborted) return;
      out.fail(e);
      all.abort();
    };
    const watches = new Map<bigint, AbortController>();
    let nextId = 0n;
    const open = (req: unknown) => {
      const id = nextId++;
      const own = new AbortController();
      watches.set(id, own);
      const stop = () => own.abort();
      all.signal.addEventListener('abort', stop, { once: true });
      (async () => {
        const body = `${encodeRequest(m, req)}\n${PROGRESS_REQUEST}`;
        const res = await this.#post(i, grpcPath, path, body, own.signal, true);
        let probed = false;
        for await (const line of ndjson(res, grpcPath)) {
          const r = m.responseType.fromJSON(line.result) as {
            watchId: bigint;
            created: boolean;
            events?: unknown[];
            [CAUGHT_UP]?: boolean;
          };
          if (r.watchId >= 0n) r.watchId = id;
          else if (!probed && r.watchId === -1n && !r.events?.length) {
            // The answer to the body's own progress request: this watch only.
            probed = true;
            r.watchId = id;
            r[CAUGHT_UP] = true;
          }
          out.push(r);
          // Events often come in the same chunk as the created answer: let `watch()` resolve
          // (its caller may read `nextRevision`) before they are delivered, as on gRPC.
          if (r.created) await new Promise((resolve) => setTimeout(resolve, 0));
        }
        if (!own.signal.aborted) {
          throw new ClientError(grpcPath, Status.UNAVAILABLE, 'watch stream ended by the server');
        }
      })()
        .catch((e) => {
          if (!own.signal.aborted) fail(e);
        })
        .finally(() => {
          all.signal.removeEventListener('abort', stop);
          watches.delete(id);
        });
    };
    // A member that hangs (paused, cut off) keeps its connections open and sends nothing: with
    // watches open, it must answer a read now and then, else the stream fails over (gRPC
    // notices the same with keepalive pings).
    const { intervalMs = 10_000, timeoutMs = 5_000 } = this.#settings.keepalive ?? {};
    const check = async () => {
      if (watches.size === 0 || all.signal.aborted) return;
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), timeoutMs);
      const stop = () => deadline.abort();
      all.signal.addEventListener('abort', stop, { once: true });
      try {
        const res = await this.#post(
          i,
          '/etcdserverpb.KV/Range',
          '/v3/kv/range',
          PING,
          deadline.signal,
          false,
        );
        await res.arrayBuffer();
      } catch (e) {
        if (all.signal.aborted) return;
        fail(
          deadline.signal.aborted
            ? new ClientError(
                grpcPath,
                Status.UNAVAILABLE,
                `the member did not answer a keepalive read within ${timeoutMs} ms`,
              )
            : e,
        );
      } finally {
        clearTimeout(timer);
        all.signal.removeEventListener('abort', stop);
      }
    };
    const pinger = setInterval(() => void check(), intervalMs);
    (pinger as { unref?: () => void }).unref?.();
    all.signal.addEventListener('abort', () => clearInterval(pinger), { once: true });
    // Progress requests that arrive while one is answered are answered by one more read.
    let progress: 'idle' | 'reading' | 'again' = 'idle';
    const requestProgress = async () => {
      if (progress !== 'idle') {
        progress = 'again';
        return;
      }
      try {
        do {
          progress = 'reading';
          const res = await this.#post(
            i,
            '/etcdserverpb.KV/Range',
            '/v3/kv/range',
            '{"key":"AA==","count_only":true}',
            all.signal,
            false,
          );
          const { header } = (await readJson(res, grpcPath)) as { header?: unknown };
          const answer = m.responseType.fromJSON({ header, watch_id: '-1' }) as {
            [PROGRESS_UNORDERED]?: boolean;
          };
          answer[PROGRESS_UNORDERED] = true;
          out.push(answer);
        } while ((progress as string) === 'again' && !all.signal.aborted);
      } finally {
        progress = 'idle';
      }
    };
    (async () => {
      const it = requests[Symbol.asyncIterator]();
      for (;;) {
        const n = await nextUnlessAborted(it, all.signal);
        if (!n || n.done) return;
        const r = n.value as {
          createRequest?: unknown;
          cancelRequest?: { watchId: bigint };
          progressRequest?: unknown;
        };
        if (r.createRequest) open(r);
        else if (r.cancelRequest) watches.get(r.cancelRequest.watchId)?.abort();
        else if (r.progressRequest) requestProgress().catch(fail);
      }
    })().catch(fail);
    return (async function* () {
      try {
        yield* out;
      } finally {
        o.signal?.removeEventListener('abort', onAbort);
        all.abort();
      }
    })();
  }
}

/** Sent after each watch's create, in the same body (see the module comment). */
const PROGRESS_REQUEST = '{"progress_request":{}}';

function baseUrl(endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`;
}

/**
 * A page preflights any request with a header outside the CORS safelist, and neither etcd's
 * --cors nor Concord's allows grpc-metadata-hasleader: in a browser, streams go without it (a
 * watch on a member that lost its leader then stays there until the member stops answering).
 */
const IN_BROWSER = typeof (globalThis as { document?: unknown }).document !== 'undefined';

/** A read every member answers by itself (serializable), cheap (count only). */
const PING = '{"key":"AA==","count_only":true,"serializable":true}';

/**
 * A transport factory for the fetch transport, for the `transport` client option (`'fetch'` is the
 * same).
 */
export const fetchTransport = (settings: FetchTransportSettings): Transport => new FetchTransport(settings);

/** The next request, or undefined once `signal` aborts (a stream's request side never ends by itself). */
function nextUnlessAborted<T>(it: AsyncIterator<T>, signal: AbortSignal | undefined) {
  if (signal?.aborted) return Promise.resolve(undefined);
  return new Promise<IteratorResult<T> | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    it.next().then(
      (r) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      },
      (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

// biome-ignore lint/correctness/useYield: a stream that fails before its first answer.
async function* failing(e: unknown): AsyncGenerator<never> {
  throw e;
}
