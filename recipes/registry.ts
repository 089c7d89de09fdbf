/**
 * Service registry. An instance registers as `<root><service>/<id>` (root `services/` by
 * default) with the JSON value `{ id, address, meta }`, attached to a lease kept alive while the
 * registration is held: `close()` revokes the lease and the key disappears at once; a process
 * that dies stops renewing and its key disappears when the lease expires (within `ttl`).
 * Registering again with the same id replaces the value (last writer wins).
 *
 * `discover()` keeps a live view of one service: one range, then a watch from the revision
 * after it, so no change is missed between the two. The view is read synchronously
 * (`instances()`, `pick`), and reports changes as events and as an async iterable.
 *
 * `layout: 'go-endpoints'` writes and reads Go's `client/v3/naming/endpoints` layout instead
 * (key `<service>/<address>`, value `{"Op":0,"Addr":…,"Metadata":…}`), so Go gRPC clients
 * resolve Node instances (`etcd:///<service>`) and Node consumers see Go's.
 */
import {
  type Client,
  compare,
  EtcdError,
  type KeyValue,
  type Lease,
  type LeaseLostError,
  type Namespace,
  op,
} from '../src/core.js';
import { codedError } from './internal/errors.js';
import { goEndpointValue, goJson, parseGoEndpoint } from './internal/go-endpoints.js';
import { type HealthCheckOptions, type HealthChecks, healthChecks } from './internal/health-check.js';
import { Feed, Mirror, type MirrorChange, MirrorView } from './internal/mirror.js';
import { keyOf } from './internal/names.js';

type KV = Client | Namespace;

/** An instance's metadata when no type is given: any JSON object (version, zone, weight …). */
export type ServiceMeta = Record<string, unknown>;

/** One instance of a service, as stored under `<root><service>/<id>`. */
export interface ServiceInstance<M = ServiceMeta> {
  /** The instance's ID, unique within its service (no `/`). */
  id: string;
  /** Where to reach it (host:port, URL … whatever clients of the service understand). */
  address: string;
  /** What clients may need to choose an instance (`{}` when none was given). */
  meta: M;
}

/**
 * How instances are stored:
 * - `'concord'` (default): key `<prefix><service>/<id>` (prefix `services/`), value
 *   `{"id","address","meta"}`;
 * - `'go-endpoints'`: Go's `go.etcd.io/etcd/client/v3/naming/endpoints`: key
 *   `<prefix><service>/<id>` (prefix empty by default, id the address unless given), value
 *   `{"Op":0,"Addr":address,"Metadata":meta}` exactly as Go's `encoding/json` writes it (`null`
 *   without meta). Go's resolver target is then `etcd:///<prefix><service>`.
 */
export type RegistryLayout = 'concord' | 'go-endpoints';

/** What `register()` takes. */
export interface RegisterOptions {
  /** Key layout and value format (default `'concord'`). */
  layout?: RegistryLayout;
  /**
   * Check the instance actively (an HTTP GET or a TCP connect on an interval): after
   * `failures` failed checks in a row its key is deleted (withdrawn: consumers see it leave),
   * and written again once a check passes. The registration and its lease stay held meanwhile.
   */
  healthCheck?: HealthCheckOptions;
  /** TTL in seconds of the lease the registration creates (default 10). A crashed instance disappears within it. */
  ttl?: number;
  /** Register on this lease instead (not revoked by `close()`: only the key is deleted). */
  lease?: Lease;
  /**
   * Keep the created lease alive (default true). Off, the instance simply disappears `ttl`
   * seconds after registering, and nothing runs in the background (serverless).
   */
  keepAlive?: boolean;
  /** Root prefix of the registry (default `services/`). */
  prefix?: string;
  /** Aborting cancels a registration under way, and closes one already made. */
  signal?: AbortSignal;
  /** Deadline of each request (default: the client's). */
  timeoutMs?: number;
}

/** The registration's lease was lost (expired, revoked elsewhere): the instance is no longer listed. */
export class RegistrationLostError extends codedError('registration-lost') {}

/**
 * An instance kept registered until `close()`, or until its lease is lost (then `lost` resolves
 * and the instance should register again).
 */
export interface Registration<M = ServiceMeta> {
  /** The service's name. */
  readonly service: string;
  /** The instance as currently registered. */
  readonly instance: ServiceInstance<M>;
  /** `<root><service>/<id>`. */
  readonly key: Buffer;
  /** The lease the registration's key is attached to. */
  readonly lease: Lease;
  /** The layout it is stored in. */
  readonly layout: RegistryLayout;
  /**
   * False while a failing health check has withdrawn the instance (always true without checks).
   * It changes once the withdrawal or return is acknowledged, so a watcher may see the key go or
   * come back a moment before it does.
   */
  readonly healthy: boolean;
  /** Aborts when the registration ends: closed, or lost. */
  readonly signal: AbortSignal;
  /** Resolves (never rejects) if the registration is lost without `close()`. Register again then. */
  readonly lost: Promise<RegistrationLostError>;
  /** Changes the address and/or metadata in place (same lease). */
  update(
    patch: { address?: string; meta?: M },
    opts?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<void>;
  /** Deregisters: the instance disappears at once. Idempotent. */
  close(): Promise<void>;
  /** `await using reg = await register(...)` deregisters at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_ROOT = 'services/';

function checkName(what: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.includes('/')) {
    throw new TypeError(`${what} must be a non-empty string without '/', got ${JSON.stringify(v)}`);
  }
  return v;
}

const servicePrefix = (root: string | undefined, service: string, layout: RegistryLayout = 'concord') =>
  keyOf(`${root ?? (layout === 'go-endpoints' ? '' : DEFAULT_ROOT)}${service}/`);

/** The stored value of `instance` in `layout` (`metaGiven`: Go writes `null` for no metadata). */
function encodeInstance(layout: RegistryLayout, i: ServiceInstance<unknown>, metaGiven: boolean): string {
  return layout === 'go-endpoints'
    ? goEndpointValue(i.address, metaGiven ? i.meta : undefined)
    : JSON.stringify(i);
}

class Registered<M> implements Registration<M> {
  readonly #kv: KV;
  readonly #ownsLease: boolean;
  readonly #ended = new AbortController();
  readonly #timeoutMs: number | undefined;
  readonly lost: Promise<RegistrationLostError>;
  #instance: ServiceInstance<M>;
  #metaGiven: boolean;
  #healthy = true;
  readonly layout: RegistryLayout;
  #closing: Promise<void> | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    kv: KV,
    readonly service: string,
    instance: ServiceInstance<M>,
    readonly key: Buffer,
    readonly lease: Lease,
    ownsLease: boolean,
    metaGiven: boolean,
    opts: RegisterOptions,
  ) {
    this.#kv = kv;
    this.#instance = instance;
    this.#metaGiven = metaGiven;
    this.layout = opts.layout ?? 'concord';
    this.#ownsLease = ownsLease;
    this.#timeoutMs = opts.timeoutMs;
    this.lost = lease.lost.then((e: LeaseLostError) => {
      const err = new RegistrationLostError(`registration ${key} lost: ${e.message}`, { cause: e });
      this.#ended.abort(err);
      return err;
    });
    lease.signal.addEventListener('abort', () => this.#ended.abort(lease.signal.reason), { once: true });
    const signal = opts.signal;
    if (signal) {
      this.#onAbort = () => void this.close().catch(() => {});
      signal.addEventListener('abort', this.#onAbort, { once: true });
      this.#ended.signal.addEventListener(
        'abort',
        () => signal.removeEventListener('abort', this.#onAbort!),
        {
          once: true,
        },
      );
    }
  }

  get instance(): ServiceInstance<M> {
    return this.#instance;
  }
  get healthy(): boolean {
    return this.#healthy;
  }

  /** @internal Runs `checks` until the registration ends. */
  _check(checks: HealthChecks): void {
    checks(this.#ended.signal, async (healthy) => {
      const timeoutMs = this.#timeoutMs;
      if (healthy) {
        const value = encodeInstance(this.layout, this.#instance, this.#metaGiven);
        await this.#kv.put(this.key, value, { lease: this.lease, signal: this.#ended.signal, timeoutMs });
      } else {
        await this.#kv
          .txn()
          .if(compare.lease(this.key, '==', this.lease))
          .success(op.delete(this.key))
          .commit({ signal: this.#ended.signal, timeoutMs });
      }
      this.#healthy = healthy;
    });
  }
  get signal(): AbortSignal {
    return this.#ended.signal;
  }

  async update(
    patch: { address?: string; meta?: M },
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<void> {
    if (this.#ended.signal.aborted) {
      throw new RegistrationLostError(`registration ${this.key} has ended`, {
        cause: this.#ended.signal.reason,
      });
    }
    const next: ServiceInstance<M> = {
      id: this.#instance.id,
      address: patch.address ?? this.#instance.address,
      meta: patch.meta ?? this.#instance.meta,
    };
    checkInstance(next, this.layout);
    const metaGiven = this.#metaGiven || patch.meta !== undefined;
    if (!this.#healthy) {
      // Withdrawn: written as it is now when a check passes again.
      this.#instance = next;
      this.#metaGiven = metaGiven;
      return;
    }
    const r = await this.#kv
      .txn()
      .if(compare.lease(this.key, '==', this.lease))
      .success(op.put(this.key, encodeInstance(this.layout, next, metaGiven), { lease: this.lease }))
      .commit({ signal: opts.signal, timeoutMs: opts.timeoutMs ?? this.#timeoutMs });
    if (!r.succeeded) {
      throw new RegistrationLostError(`registration ${this.key} was replaced or removed`);
    }
    this.#instance = next;
    this.#metaGiven = metaGiven;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#ended.abort(new EtcdError(`registration ${this.key} closed`, { code: 'registration-closed' }));
      if (this.#ownsLease) await this.lease.revoke({ timeoutMs: this.#timeoutMs });
      else
        await this.#kv
          .txn()
          .if(compare.lease(this.key, '==', this.lease))
          .success(op.delete(this.key))
          .commit({ timeoutMs: this.#timeoutMs });
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function checkInstance(i: ServiceInstance<unknown>, layout: RegistryLayout): void {
  // Go's layout keys instances by address, which may hold a '/' (a URL).
  if (layout === 'go-endpoints') {
    if (typeof i.id !== 'string' || i.id.length === 0) {
      throw new TypeError(`instance id must be a non-empty string, got ${JSON.stringify(i.id)}`);
    }
  } else checkName('instance id', i.id);
  if (typeof i.address !== 'string' || i.address.length === 0) {
    throw new TypeError(`instance address must be a non-empty string, got ${JSON.stringify(i.address)}`);
  }
  if (i.meta !== undefined && (typeof i.meta !== 'object' || i.meta === null || Array.isArray(i.meta))) {
    throw new TypeError(`instance meta must be a plain object, got ${JSON.stringify(i.meta)}`);
  }
}

/**
 * Registers an instance of `service` and keeps it registered until `close()` (or the signal).
 * Resolves once the instance is listed.
 *
 * The metadata type is `ServiceMeta` unless given (`register<MyMeta>(…)`), never inferred from
 * the first `meta`: metadata that later gains a field (`update({ meta: { …, draining: true } })`)
 * must not be refused because the first value lacked it.
 *
 * @example
 * ```ts
 * import { register } from 'concord-kv/recipes';
 * await using reg = await register(client, 'api', { id: hostname(), address: 'http://10.0.0.5:8080' });
 * reg.lost.then(() => process.exit(1)); // let the supervisor restart us
 * ```
 *
 * `id` may be left out in the `'go-endpoints'` layout: it is then the address, as Go keys it.
 */
export async function register<M = ServiceMeta>(
  client: KV,
  service: string,
  instance: { id?: string; address: string; meta?: NoInfer<M> },
  opts: RegisterOptions = {},
): Promise<Registration<M>> {
  checkName('service name', service);
  const layout = opts.layout ?? 'concord';
  const inst: ServiceInstance<M> = {
    id: instance.id ?? (layout === 'go-endpoints' ? instance.address : (undefined as unknown as string)),
    address: instance.address,
    meta: (instance.meta ?? {}) as M,
  };
  checkInstance(inst, layout);
  const checks = opts.healthCheck && healthChecks(opts.healthCheck);
  opts.signal?.throwIfAborted();
  const key = keyOf(servicePrefix(opts.prefix, service, layout), inst.id);
  const metaGiven = instance.meta !== undefined;
  const ownsLease = !opts.lease;
  const lease =
    opts.lease ??
    (await client.lease({
      ttl: opts.ttl ?? 10,
      keepAlive: opts.keepAlive,
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    }));
  try {
    await client.put(key, encodeInstance(layout, inst, metaGiven), {
      lease,
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
  } catch (e) {
    if (ownsLease) await lease.revoke().catch(() => {});
    throw e;
  }
  const reg = new Registered(client, service, inst, key, lease, ownsLease, metaGiven, opts);
  if (opts.signal?.aborted) {
    // Aborted while the put was in flight: undo it and report the abort.
    await reg.close();
    opts.signal.throwIfAborted();
  }
  if (checks) reg._check(checks);
  return reg;
}

// ---------------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------------

/** What `discover()` takes. */
export interface DiscoverOptions<M = ServiceMeta> {
  /** Root prefix of the registry (default `services/`; empty in the `'go-endpoints'` layout). */
  prefix?: string;
  /** Key layout and value format to read (default `'concord'`). */
  layout?: RegistryLayout;
  /**
   * Only the instances whose metadata holds each of these fields with an equal (JSON) value,
   * or for which the predicate is true. An instance that stops matching leaves the view
   * ('remove'); one that starts matching joins it ('add').
   */
  where?: Partial<M> | ((instance: ServiceInstance<M>) => boolean);
  /** Aborting closes the view. */
  signal?: AbortSignal;
  /** Deadline of each request (the initial load, re-syncs); default: the client's. */
  timeoutMs?: number;
  /** Probe the watch this often to detect that it is down (default 1000 ms; 0: never). */
  heartbeatMs?: number;
  /** The view is `stale` after this long without an answer from the watch (default 3 × heartbeatMs). */
  staleAfterMs?: number;
}

/** A change in a `ServiceView`, as its events and its async iterator report it. */
export interface InstanceChange<M = ServiceMeta> {
  /** Whether the instance joined, changed its address or metadata, or left. */
  type: 'add' | 'update' | 'remove';
  /** The instance after the change (for 'remove': as it was last seen). */
  instance: ServiceInstance<M>;
  /** The instance before an 'update'. */
  previous?: ServiceInstance<M>;
  /** The store revision of the change. */
  revision: bigint;
}

/** The events of a `ServiceView`, with their arguments. */
export interface ServiceViewEvents<M> {
  /** An instance joined. */
  add: [instance: ServiceInstance<M>, change: InstanceChange<M>];
  /** An instance changed its address or metadata. */
  update: [instance: ServiceInstance<M>, change: InstanceChange<M>];
  /** An instance left (deregistered, or its lease expired). */
  remove: [instance: ServiceInstance<M>, change: InstanceChange<M>];
  /** Any of the three above. */
  change: [change: InstanceChange<M>];
  /** The watch went down (true) or is back and caught up (false). */
  stale: [stale: boolean];
  /** The view was closed. */
  close: [];
}

/** An instance stored in Go's layout; metadata that is not a JSON object reads as `{}`. */
function parseGoInstance<M>(kv: KeyValue, id: string): ServiceInstance<M> | undefined {
  const ep = parseGoEndpoint(kv);
  if (!ep || ep.addr.length === 0) return undefined;
  const md = ep.metadata;
  const meta = (typeof md === 'object' && md !== null && !Array.isArray(md) ? md : {}) as M;
  return { id, address: ep.addr, meta };
}

/** The `where` option as a predicate. */
function matcher<M>(where: DiscoverOptions<M>['where']): (i: ServiceInstance<M>) => boolean {
  if (where === undefined) return () => true;
  if (typeof where === 'function') return where;
  const wanted = Object.entries(where).map(([k, v]) => [k, goJson(v)] as const);
  return (i) => wanted.every(([k, v]) => goJson((i.meta as Record<string, unknown>)[k]) === v);
}

function parseInstance<M>(kv: KeyValue, id: string): ServiceInstance<M> | undefined {
  try {
    const v = kv.json<Partial<ServiceInstance<M>>>();
    if (typeof v !== 'object' || v === null || typeof v.address !== 'string') return undefined;
    const meta = typeof v.meta === 'object' && v.meta !== null ? v.meta : ({} as M);
    return { id, address: v.address, meta };
  } catch {
    return undefined;
  }
}

/**
 * A live view of the instances of one service. Read it synchronously; listen with
 * `on('add' | 'update' | 'remove' | 'change', …)` or iterate it (`for await (const change of
 * view)`: the changes from then on, until closed).
 *
 * @example
 * ```ts
 * import { discover } from 'concord-kv/recipes';
 * await using api = await discover(client, 'api');
 * const target = api.pick.roundRobin(); // undefined when no instance is up
 * api.on('remove', (inst) => console.log('gone:', inst.id));
 * ```
 */
export class ServiceView<M = ServiceMeta>
  extends MirrorView<ServiceViewEvents<M>>
  implements AsyncIterable<InstanceChange<M>>
{
  /** The service this view follows. */
  readonly service: string;
  readonly #prefix: string;
  /** @internal */
  protected readonly mirror: Mirror;
  /** Reads an entry, undefined when it is malformed or filtered out. */
  readonly #read: (kv: KeyValue, id: string) => ServiceInstance<M> | undefined;
  readonly #byId = new Map<string, ServiceInstance<M>>();
  readonly #feed = new Feed<InstanceChange<M>>();
  #sorted: ServiceInstance<M>[] | undefined;
  #next = 0;

  /** Choose an instance: `roundRobin()` cycles through them in id order, `random()` picks any. Undefined when none. */
  readonly pick = {
    /** The next instance in id order, cycling. */
    roundRobin: (): ServiceInstance<M> | undefined => {
      const all = this.instances();
      if (all.length === 0) return undefined;
      const i = this.#next++ % all.length;
      if (this.#next >= Number.MAX_SAFE_INTEGER) this.#next = 0;
      return all[i];
    },
    /** Any instance, chosen at random. */
    random: (): ServiceInstance<M> | undefined => {
      const all = this.instances();
      return all.length === 0 ? undefined : all[Math.floor(Math.random() * all.length)];
    },
  };

  /** @internal Use `discover()`. */
  constructor(client: KV, service: string, opts: DiscoverOptions<M>) {
    super();
    this.service = service;
    const layout = opts.layout ?? 'concord';
    const parse = layout === 'go-endpoints' ? parseGoInstance : parseInstance;
    const matches = matcher(opts.where);
    this.#read = (kv, id) => {
      const inst = parse<M>(kv, id);
      return inst && matches(inst) ? inst : undefined;
    };
    const prefix = servicePrefix(opts.prefix, service, layout);
    this.#prefix = prefix.toString('utf8');
    this.mirror = new Mirror(client, prefix, opts, {
      change: (changes, revision) => this.#onChanges(changes, revision),
      stale: (stale) => this.emit('stale', stale),
      closed: () => {
        this.#feed.end();
        this.emit('close');
      },
    });
  }

  /** @internal */
  async _load(): Promise<void> {
    await this.mirror.start();
    for (const [key, kv] of this.mirror.entries) {
      const id = key.slice(this.#prefix.length);
      const inst = this.#read(kv, id);
      if (inst) this.#byId.set(id, inst);
    }
  }

  /** The current instances, in id order. */
  instances(): ServiceInstance<M>[] {
    this.#sorted ??= [...this.#byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.#sorted.slice();
  }

  /** One instance by ID, or undefined when it is not (or no longer) registered. */
  get(id: string): ServiceInstance<M> | undefined {
    return this.#byId.get(id);
  }

  /** How many instances the view holds. */
  get size(): number {
    return this.#byId.size;
  }

  #onChanges(changes: MirrorChange[], revision: bigint): void {
    const out: InstanceChange<M>[] = [];
    for (const c of changes) {
      const id = c.key.slice(this.#prefix.length);
      const before = this.#byId.get(id);
      const after = c.next ? this.#read(c.next, id) : undefined;
      const rev = c.next?.modRevision ?? revision;
      if (after) this.#byId.set(id, after);
      else this.#byId.delete(id);
      if (after && !before) out.push({ type: 'add', instance: after, revision: rev });
      else if (after && before)
        out.push({ type: 'update', instance: after, previous: before, revision: rev });
      else if (!after && before) out.push({ type: 'remove', instance: before, revision: rev });
    }
    if (out.length > 0) this.#sorted = undefined;
    for (const ch of out) {
      this.#feed.push(ch);
      this.safeEmit(ch.type, ch.instance, ch);
      this.safeEmit('change', ch);
    }
  }

  /** The changes from now on, until the view closes (or `signal` aborts). */
  changes(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<InstanceChange<M>> {
    return this.#feed.iterate(opts.signal);
  }

  /** `for await (const change of view)`: the changes from now on, until the view closes. */
  [Symbol.asyncIterator](): AsyncIterator<InstanceChange<M>> {
    return this.#feed.iterate();
  }
}

/** Loads the instances of `service` and keeps the view current until `close()`. */
export async function discover<M = ServiceMeta>(
  client: KV,
  service: string,
  opts: DiscoverOptions<M> = {},
): Promise<ServiceView<M>> {
  checkName('service name', service);
  const view = new ServiceView<M>(client, service, opts);
  try {
    await view._load();
  } catch (e) {
    view.close();
    throw e;
  }
  return view;
}
