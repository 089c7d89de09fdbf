/**
 * The SDK entry point. Construction does no I/O: connections open on the first call. Holding
 * nothing (no kept lease, no open watch), a client does not keep the process alive.
 *
 * This class knows the fetch transport only; the Node entry point (node-client.ts) extends it
 * with gRPC, so a bundle of `concord/fetch` holds no gRPC code.
 */
import { KVDefinition } from '../gen/services.js';
import { Auth } from './auth.js';
import type { CallOptions } from './call-options.js';
import { Cluster } from './cluster.js';
import { Connections } from './connections.js';
import { EndpointSync } from './endpoint-sync.js';
import { fetchTransport } from './fetch-transport.js';
import { ROOT } from './keyspace.js';
import { header, type ResponseHeader } from './kv.js';
import { LeaseKeeper, type LeaseTimeToLive } from './lease.js';
import { Maintenance } from './maintenance.js';
import { Namespace } from './namespace.js';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import type { Transport } from './transport.js';
import { WatchHub } from './watch.js';

/**
 * A connection to an etcd v3 cluster (Concord or etcd) over etcd's JSON gateway with `fetch`:
 * the `Client` of `concord-kv/fetch` and of the recipes' runtime-neutral core. The Node entry
 * point's `Client` extends it with gRPC. Construction does no I/O: connections open on the first
 * call, and a client holding no lease or watch does not keep the process alive.
 *
 * @example
 * ```ts
 * import { Client } from 'concord-kv/fetch';
 * const client = new Client({ endpoints: 'https://etcd.example.com:2379' });
 * await client.put('greeting', 'hello');
 * console.log(await client.getString('greeting'));
 * client.close();
 * ```
 */
export class Client extends Namespace {
  /** Membership: list, add, remove, update, promote. */
  readonly cluster: Cluster;
  /** Status, alarms, defragment, hashKV, snapshot, moveLeader. */
  readonly maintenance: Maintenance;
  /** Auth on/off, users, roles and their key-range permissions. */
  readonly auth: Auth;

  constructor(options: ClientOptions) {
    const o = resolveOptions(options);
    const conns = new Connections(o, makeTransport(o));
    if (o.autoSyncInterval !== undefined) new EndpointSync(conns, o.autoSyncInterval);
    super({ conns, watches: new WatchHub(conns), leases: new LeaseKeeper(conns, o.leases) }, ROOT);
    this.cluster = new Cluster(conns);
    this.maintenance = new Maintenance(conns);
    this.auth = new Auth(conns);
    this.leaseDefaults = o.leases;
  }

  /**
   * A client for short-lived functions (Workers, Lambda, Vercel, Deno Deploy): the fetch
   * transport (no connection or timer outlives a call), 5 s deadlines and 3 attempts, and leases
   * — the ones recipes create included — of 10 s that are not kept alive: a lock taken in a
   * request frees itself if the function is frozen or killed before releasing it. End with
   * `ctx.waitUntil(client.shutdown())`. Any option given overrides these.
   */
  static forServerless<C extends Client>(this: new (o: ClientOptions) => C, options: ClientOptions): C {
    return new this({
      transport: 'fetch',
      timeoutMs: 5_000,
      maxAttempts: 3,
      ...options,
      leases: { ttl: 10, keepAlive: false, ...options.leases },
    });
  }

  /** Lease defaults (see `ClientOptions.leases`); recipes read `ttl` for the leases they create. */
  readonly leaseDefaults: {
    /** The TTL in seconds of leases recipes create, when not told one. */
    readonly ttl?: number;
    /** Whether leases this client grants are kept alive. */
    readonly keepAlive: boolean;
  };

  /** How calls travel: `'grpc'` or `'fetch'` (or a custom transport's kind). */
  get transport(): string {
    return this.core.conns.transport.kind;
  }

  /** The endpoints calls go to, as given (normalised, without a trailing slash). */
  get endpoints(): readonly string[] {
    return this.core.conns.endpoints;
  }

  /** Compacts the key-value history up to `revision`; `physical` waits until it is removed. */
  async compact(
    revision: bigint | number,
    opts?: CallOptions & { physical?: boolean },
  ): Promise<ResponseHeader> {
    const r = await this.core.conns.unary('write', opts, (i, signal) =>
      this.core.conns
        .client(KVDefinition, i)
        .compact({ revision: BigInt(revision), physical: opts?.physical ?? false }, { signal }),
    );
    return header(r.header);
  }

  /** IDs of every lease the cluster holds. */
  leases(opts?: CallOptions): Promise<bigint[]> {
    return this.core.leases.list(opts);
  }

  /** Remaining TTL (and optionally keys) of any lease, kept by this client or not. */
  leaseTimeToLive(id: bigint, opts?: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLive> {
    return this.core.leases.timeToLive(id, opts);
  }

  /** Revokes any lease by ID, deleting its keys. */
  revokeLease(id: bigint, opts?: CallOptions): Promise<void> {
    return this.core.leases.revoke(id, opts);
  }

  /** Open watches and kept leases (what keeps this client's process alive). */
  get holding(): {
    /** Open watches. */
    watches: number;
    /** Leases kept alive by this client. */
    leases: number;
  } {
    return { watches: this.core.watches.size, leases: this.core.leases.size };
  }

  /** Cancels every watch, stops every keepalive and closes every connection. Idempotent. */
  close(): void {
    this.core.conns.close();
  }

  /**
   * Revokes every lease this client granted and still holds (deleting their keys: locks are
   * freed at once rather than after their TTL), then closes. Never rejects: hand it to
   * `waitUntil()` at the end of a request. `timeoutMs` bounds the revokes (default 2 000).
   */
  async shutdown(opts: { timeoutMs?: number } = {}): Promise<void> {
    try {
      if (!this.core.conns.closed) await this.core.leases.revokeAll({ timeoutMs: opts.timeoutMs ?? 2_000 });
    } finally {
      this.close();
    }
  }

  /** `await using client = new Client(...)` closes the client at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

function makeTransport(o: ResolvedOptions): Transport {
  if (typeof o.transport === 'function') return o.transport(o);
  if (o.transport === 'grpc') {
    throw new TypeError(
      "the gRPC transport is not in this entry point: import { Client } from 'concord-kv' (Node), or use transport: 'fetch'",
    );
  }
  return fetchTransport(o);
}
