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
 *   may arrive ahead of events it covers, as etcd before 3.4.25 / 3.5.8 sent it (the hub does
 *   not advance a watch's resume revision on such an answer).
 * - a LeaseKeepAlive stream becomes one `POST /v3/lease/keepalive` per keepalive.
 *
 * Errors: etcd 3.4's `{"error", "message", "code"}`, etcd 3.5+'s `{"code", "message", "details"}`
 * and the stream error objects of grpc-gateway v1 and v2 all become the ClientError the gRPC
 * transport would have thrown, so errors.ts maps them to the same typed errors.
 */
import { ClientError, type Metadata, Status } from 'nice-grpc-common';
import { AsyncQueue } from './async-queue.js';
import { ClientClosedError } from './errors.js';
import type { TlsOptions } from './options.js';
import type { CompatServiceDefinition, ServiceClient, Transport, TransportSettings } from './transport.js';

export interface FetchTransportSettings extends TransportSettings {
  /** Refused when it names a CA or a client certificate (see the constructor). */
  tls?: TlsOptions;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** While watches are open, a serializable read from their member every `intervalMs` must answer within `timeoutMs`. */
  keepalive?: { intervalMs: number; timeoutMs: number };
}

/** Gateway paths of the etcd API calls, by gRPC method path. */
const PATHS: Record<string, string> = {
  '/etcdserverpb.KV/Range': '/v3/kv/range',
  '/etcdserverpb.KV/Put': '/v3/kv/put',
  '/etcdserverpb.KV/DeleteRange': '/v3/kv/deleterange',
  '/etcdserverpb.KV/Txn': '/v3/kv/txn',
  '/etcdserverpb.KV/Compact': '/v3/kv/compaction',
  '/etcdserverpb.Watch/Watch': '/v3/watch',
  '/etcdserverpb.Lease/LeaseGrant': '/v3/lease/grant',
  // etcd 3.4 serves these under /v3/kv/lease/ as well; /v3/lease/ is the name both know.
  '/etcdserverpb.Lease/LeaseRevoke': '/v3/lease/revoke',
  '/etcdserverpb.Lease/LeaseKeepAlive': '/v3/lease/keepalive',
  '/etcdserverpb.Lease/LeaseTimeToLive': '/v3/lease/timetolive',
  '/etcdserverpb.Lease/LeaseLeases': '/v3/lease/leases',
  '/etcdserverpb.Cluster/MemberAdd': '/v3/cluster/member/add',
  '/etcdserverpb.Cluster/MemberRemove': '/v3/cluster/member/remove',
  '/etcdserverpb.Cluster/MemberUpdate': '/v3/cluster/member/update',
  '/etcdserverpb.Cluster/MemberList': '/v3/cluster/member/list',
  '/etcdserverpb.Cluster/MemberPromote': '/v3/cluster/member/promote',
  '/etcdserverpb.Auth/AuthEnable': '/v3/auth/enable',
  '/etcdserverpb.Auth/AuthDisable': '/v3/auth/disable',
  '/etcdserverpb.Auth/AuthStatus': '/v3/auth/status',
  '/etcdserverpb.Auth/Authenticate': '/v3/auth/authenticate',
  '/etcdserverpb.Auth/UserAdd': '/v3/auth/user/add',
  '/etcdserverpb.Auth/UserGet': '/v3/auth/user/get',
  '/etcdserverpb.Auth/UserList': '/v3/auth/user/list',
  '/etcdserverpb.Auth/UserDelete': '/v3/auth/user/delete',
  '/etcdserverpb.Auth/UserChangePassword': '/v3/auth/user/changepw',
  '/etcdserverpb.Auth/UserGrantRole': '/v3/auth/user/grant',
  '/etcdserverpb.Auth/UserRevokeRole': '/v3/auth/user/revoke',
  '/etcdserverpb.Auth/RoleAdd': '/v3/auth/role/add',
  '/etcdserverpb.Auth/RoleGet': '/v3/auth/role/get',
  '/etcdserverpb.Auth/RoleList': '/v3/auth/role/list',
  '/etcdserverpb.Auth/RoleDelete': '/v3/auth/role/delete',
  '/etcdserverpb.Auth/RoleGrantPermission': '/v3/auth/role/grant',
  '/etcdserverpb.Auth/RoleRevokePermission': '/v3/auth/role/revoke',
  '/etcdserverpb.Maintenance/Alarm': '/v3/maintenance/alarm',
  '/etcdserverpb.Maintenance/Status': '/v3/maintenance/status',
  '/etcdserverpb.Maintenance/Defragment': '/v3/maintenance/defragment',
  '/etcdserverpb.Maintenance/Hash': '/v3/maintenance/hash',
  '/etcdserverpb.Maintenance/HashKV': '/v3/maintenance/hashkv',
  '/etcdserverpb.Maintenance/Snapshot': '/v3/maintenance/snapshot',
  '/etcdserverpb.Maintenance/MoveLeader': '/v3/maintenance/transfer-leadership',
  '/v3lockpb.Lock/Lock': '/v3/lock/lock',
  '/v3lockpb.Lock/Unlock': '/v3/lock/unlock',
  '/v3electionpb.Election/Campaign': '/v3/election/campaign',
  '/v3electionpb.Election/Proclaim': '/v3/election/proclaim',
  '/v3electionpb.Election/Leader': '/v3/election/leader',
  '/v3electionpb.Election/Observe': '/v3/election/observe',
  '/v3electionpb.Election/Resign': '/v3/election/resign',
};

interface Codec {
  fromJSON(o: unknown): unknown;
  toJSON(m: unknown): unknown;
  fromPartial(m: unknown): unknown;
}
interface MethodDef {
  name: string;
  requestType: Codec;
  responseType: Codec;
  requestStream: boolean;
  responseStream: boolean;
}
interface CallOpts {
  signal?: AbortSignal;
  metadata?: Metadata;
}
type Json = Record<string, unknown>;

export class FetchTransport implements Transport {
  readonly kind = 'fetch';
  readonly #settings: FetchTransportSettings;
  readonly #fetch: typeof fetch;
  readonly #bases: string[];
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
    this.#fetch = f;
    this.#bases = settings.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
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
    const body = (req: unknown) => JSON.stringify(m.requestType.toJSON(m.requestType.fromPartial(req)));
    if (m.requestStream && m.responseStream) {
      if (!path) return () => failing(unimplemented());
      if (grpcPath === '/etcdserverpb.Watch/Watch') {
        return (requests: AsyncIterable<unknown>, o: CallOpts = {}) =>
          this.#watch(i, grpcPath, path, m, requests, o);
      }
      return (requests: AsyncIterable<unknown>, o: CallOpts = {}) =>
        this.#each(i, grpcPath, path, m, requests, o);
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
    const headers = stream ? { ...this.#headers, 'grpc-metadata-hasleader': 'true' } : this.#headers;
    let res: Response;
    try {
      res = await this.#fetch(`${base}${path}`, { method: 'POST', headers, body, signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw networkError(grpcPath, e);
    }
    if (res.ok) return res;
    let text = '';
    try {
      text = await res.text();
    } catch (e) {
      throw networkError(grpcPath, e);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw statusError(grpcPath, parsed) ?? httpError(grpcPath, res.status, text);
  }

  async *#serverStream(i: number, grpcPath: string, path: string, m: MethodDef, body: string, o: CallOpts) {
    const res = await this.#post(i, grpcPath, path, body, o.signal, true);
    for await (const line of ndjson(res, grpcPath)) yield m.responseType.fromJSON(line.result);
  }

  /** A bidirectional call with one answer per request: one POST per request. */
  async *#each(
    i: number,
    grpcPath: string,
    path: string,
    m: MethodDef,
    requests: AsyncIterable<unknown>,
    o: CallOpts,
  ) {
    const it = requests[Symbol.asyncIterator]();
    for (;;) {
      const n = await nextUnlessAborted(it, o.signal);
      if (!n || n.done) return;
      const body = JSON.stringify(m.requestType.toJSON(m.requestType.fromPartial(n.value)));
      const res = await this.#post(i, grpcPath, path, body, o.signal, true);
      let answered = false;
      for await (const line of ndjson(res, grpcPath)) {
        if (answered) continue;
        answered = true;
        yield m.responseType.fromJSON(line.result);
      }
      if (!answered) throw new ClientError(grpcPath, Status.UNAVAILABLE, 'stream ended without an answer');
    }
  }

  /** The Watch stream, as one streamed POST per watch (see the module comment). */
  #watch(
    i: number,
    grpcPath: string,
    path: string,
    m: MethodDef,
    requests: AsyncIterable<unknown>,
    o: CallOpts,
  ): AsyncIterable<unknown> {
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
        const body = JSON.stringify(m.requestType.toJSON(m.requestType.fromPartial(req)));
        const res = await this.#post(i, grpcPath, path, body, own.signal, true);
        for await (const line of ndjson(res, grpcPath)) {
          const r = m.responseType.fromJSON(line.result) as { watchId: bigint; created: boolean };
          if (r.watchId >= 0n) r.watchId = id;
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
          out.push(m.responseType.fromJSON({ header, watch_id: '-1' }));
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

/** A read every member answers by itself (serializable), cheap (count only). */
const PING = '{"key":"AA==","count_only":true,"serializable":true}';

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

async function readJson(res: Response, grpcPath: string): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    throw networkError(grpcPath, e);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ClientError(grpcPath, Status.INTERNAL, `invalid JSON from the gateway: ${text.slice(0, 200)}`);
  }
}

/** The objects of a newline-delimited JSON stream; an `error` object ends it with its ClientError. */
async function* ndjson(res: Response, grpcPath: string): AsyncGenerator<Json> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const parse = (line: string): Json => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new ClientError(
        grpcPath,
        Status.INTERNAL,
        `invalid JSON from the gateway: ${line.slice(0, 200)}`,
      );
    }
    const o = (v ?? {}) as Json;
    if (o.error !== undefined) {
      throw statusError(grpcPath, o) ?? new ClientError(grpcPath, Status.UNKNOWN, JSON.stringify(o.error));
    }
    return o;
  };
  try {
    for (;;) {
      let chunk: { done: boolean; value?: Uint8Array };
      try {
        chunk = await reader.read();
      } catch (e) {
        throw networkError(grpcPath, e);
      }
      if (chunk.done) break;
      buf += decoder.decode(chunk.value, { stream: true });
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line !== '') yield parse(line);
      }
    }
    if (buf.trim() !== '') yield parse(buf.trim());
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * The gRPC status an error body carries: etcd 3.4's `{"error": message, "message", "code"}`,
 * 3.5+'s `{"code", "message", "details"}`, or a stream's `{"error": {"grpc_code" | "code", "message"}}`.
 */
export function statusError(grpcPath: string, body: unknown): ClientError | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as Json;
  if (b.error !== null && typeof b.error === 'object') return statusError(grpcPath, b.error);
  const code =
    typeof b.code === 'number' ? b.code : typeof b.grpc_code === 'number' ? b.grpc_code : undefined;
  const message =
    typeof b.message === 'string' ? b.message : typeof b.error === 'string' ? b.error : undefined;
  if (code === undefined || message === undefined) return undefined;
  return new ClientError(grpcPath, code, message);
}

/** An answer with no gRPC status in it (a proxy's page, a path the server does not serve). */
function httpError(grpcPath: string, status: number, text: string): ClientError {
  const code =
    status === 404 || status === 405 || status === 501
      ? Status.UNIMPLEMENTED
      : status === 400
        ? Status.INVALID_ARGUMENT
        : status === 401
          ? Status.UNAUTHENTICATED
          : status === 403
            ? Status.PERMISSION_DENIED
            : status === 429
              ? Status.RESOURCE_EXHAUSTED
              : status === 502 || status === 503
                ? Status.UNAVAILABLE
                : status === 504
                  ? Status.DEADLINE_EXCEEDED
                  : Status.UNKNOWN;
  const what =
    code === Status.UNIMPLEMENTED
      ? `${grpcPath} is not served by this endpoint's JSON gateway`
      : text.slice(0, 200);
  return new ClientError(grpcPath, code, `HTTP ${status}: ${what}`);
}

/**
 * fetch failed before an answer: UNAVAILABLE, with the socket error's own message (so a refused
 * connection reads "connect ECONNREFUSED …", which errors.ts knows was never sent).
 */
function networkError(grpcPath: string, e: unknown): ClientError {
  if (e instanceof ClientError) return e;
  const cause = (e as { cause?: { message?: string } } | undefined)?.cause;
  const message = cause?.message ?? (e instanceof Error ? e.message : String(e));
  return new ClientError(grpcPath, Status.UNAVAILABLE, message);
}
