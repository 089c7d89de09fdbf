/**
 * The SDK entry point. Construction does no I/O: channels open on the first call. Holding
 * nothing (no kept lease, no open watch), a client does not keep the process alive.
 */
import { KVDefinition } from '../gen/etcdserverpb/rpc.js';
import { Auth } from './auth.js';
import type { CallOptions } from './call-options.js';
import { Cluster } from './cluster.js';
import { Connections } from './connections.js';
import { ROOT } from './keyspace.js';
import { header, type ResponseHeader } from './kv.js';
import { LeaseKeeper, type LeaseTimeToLive } from './lease.js';
import { Maintenance } from './maintenance.js';
import { Namespace } from './namespace.js';
import { type ClientOptions, resolveOptions } from './options.js';
import { WatchHub } from './watch.js';

export class Client extends Namespace {
  /** Membership: list, add, remove, update, promote. */
  readonly cluster: Cluster;
  /** Status, alarms, defragment, hashKV, snapshot, moveLeader. */
  readonly maintenance: Maintenance;
  /** Auth on/off, users, roles and their key-range permissions. */
  readonly auth: Auth;

  constructor(options: ClientOptions) {
    const o = resolveOptions(options);
    const conns = new Connections(o);
    super({ conns, watches: new WatchHub(conns), leases: new LeaseKeeper(conns) }, ROOT);
    this.cluster = new Cluster(conns);
    this.maintenance = new Maintenance(conns);
    this.auth = new Auth(conns);
  }

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
  get holding(): { watches: number; leases: number } {
    return { watches: this.core.watches.size, leases: this.core.leases.size };
  }

  /** Cancels every watch, stops every keepalive and closes every connection. Idempotent. */
  close(): void {
    this.core.conns.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
