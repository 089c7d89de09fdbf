/**
 * The state machine: what the server's apply loop calls with each committed entry, and what
 * serves reads. It owns the keyspace, the lessor, the alarms, the auth store and the watch hub,
 * and records the last applied Raft index with them so that replaying entries after a restart
 * or a snapshot is a no-op. Pure and deterministic: no I/O, no clock — the caller passes time
 * where a leader needs it (lease expiry), and it never influences the replicated state.
 *
 * Each request goes through the applier chain (apply/chain.ts): auth, quota, then the backend.
 *
 * The host (the server) contract:
 *  1. Before proposing a request: `validate(req)` and `checkQuota(req)`; on NoSpaceError,
 *     propose an AlarmRequest ACTIVATE NOSPACE and answer the client with the error.
 *  2. For each committed entry, in order: `apply(index, req, { nowMs })`. It returns the
 *     response (header.revision filled; cluster, member and raft term are the host's) or
 *     throws an MvccError whose `grpcCode` and `message` are etcd's status for the client.
 *  3. After each apply pass: `watches.sync()` (repeatedly, as the event loop allows) so that
 *     watchers created in the past or behind a slow stream catch up; `created` and `canceled`
 *     responses for client requests are the host's to send.
 *  4. Leases: `lessor.promote(now)` on becoming leader, `demote()` on losing it; periodically
 *     propose LeaseRevoke for `lessor.expired(now)` and LeaseCheckpoint for
 *     `lessor.checkpointsDue(now)`; keepalives are `lessor.renew(id, now)` (propose a zero
 *     checkpoint when it says clearCheckpoint).
 *  5. Progress: `watches.progressNotify()` on the progress interval; a client's progress
 *     request is answered (watch id -1, current revision) when `watches.allSynced(...)`.
 *  6. Snapshots: `snapshot(sm)` streams the state with `appliedIndex`; `restore(chunks)`
 *     rebuilds it; entries at or below the restored applied index are then skipped.
 */
import type {
  HashKVResponse,
  LeaseLeasesResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
} from '../gen/etcdserverpb/rpc.js';
import { Alarms } from './alarms.js';
import type { Applier, ApplyContext, MvccRequest, Requests, ResponseOf, Responses } from './apply/applier.js';
import { applierChain, dispatch } from './apply/chain.js';
import { AuthStore } from './auth/auth-store.js';
import { buf, header } from './convert.js';
import { NoSpaceError } from './errors.js';
import { hashKV } from './kv/hash.js';
import { KvStore } from './kv/kv-store.js';
import { checkRangeRequest } from './kv/range.js';
import { DEFAULT_MAX_TXN_OPS, validateTxn } from './kv/txn.js';
import { WatchHub, type WatchHubOptions } from './kv/watch-hub.js';
import { checkDeleteRequest, checkPutRequest } from './kv/write-ops.js';
import { Lessor } from './lease/lessor.js';
import { Quota, requestCost } from './quota.js';

/** The context of the convenience entry points: no credentials to check, no clock. */
const NO_CONTEXT: ApplyContext = Object.freeze({});

export interface StateMachineOptions extends WatchHubOptions {
  /** --quota-backend-bytes (default 2 GiB). */
  quotaBytes?: number;
  /** --max-txn-ops (default 128). */
  maxTxnOps?: number;
  /** Minimum lease TTL in seconds (default 2). */
  minLeaseTtlSeconds?: number;
}

export class StateMachine {
  readonly kv = new KvStore();
  readonly lessor: Lessor;
  readonly alarms = new Alarms();
  readonly auth = new AuthStore();
  readonly watches: WatchHub;
  readonly quota: Quota;
  readonly maxTxnOps: number;
  /** Raft index of the last applied entry; stored with the state (snapshots carry it). */
  appliedIndex = 0;
  readonly #applier: Applier;

  constructor(readonly options: StateMachineOptions = {}) {
    this.lessor = new Lessor({ minTtlSeconds: options.minLeaseTtlSeconds });
    this.kv.leases = this.lessor;
    this.watches = new WatchHub(this.kv, options);
    this.quota = new Quota(options.quotaBytes);
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
    this.#applier = applierChain(this);
  }

  get revision(): number {
    return this.kv.currentRev;
  }

  get compactRevision(): number {
    return this.kv.compactRev;
  }

  /**
   * Applies committed entry `index`. Entries at or below the applied index were applied
   * before (a replay): they are skipped and undefined is returned. A request that fails
   * throws an MvccError — deterministically, on every member — and still counts as applied.
   */
  apply<R extends MvccRequest>(index: number, req: R, ctx: ApplyContext = {}): ResponseOf<R> | undefined {
    if (index <= this.appliedIndex) return undefined;
    this.appliedIndex = index;
    return this.execute(req, ctx);
  }

  /** Runs a request without touching the applied index (reads, tests, single-node use). */
  execute<R extends MvccRequest>(req: R, ctx: ApplyContext = {}): ResponseOf<R> {
    return dispatch(this.#applier, req, ctx);
  }

  // Convenience entry points (same as execute with one kind).
  range(r: Requests['range']): Responses['range'] {
    return this.#applier.range(r, NO_CONTEXT);
  }
  put(r: Requests['put']): Responses['put'] {
    return this.#applier.put(r, NO_CONTEXT);
  }
  deleteRange(r: Requests['deleteRange']): Responses['deleteRange'] {
    return this.#applier.deleteRange(r, NO_CONTEXT);
  }
  txn(r: Requests['txn']): Responses['txn'] {
    return this.#applier.txn(r, NO_CONTEXT);
  }
  compact(r: Requests['compaction']): Responses['compaction'] {
    return this.#applier.compaction(r, NO_CONTEXT);
  }
  leaseGrant(r: Requests['leaseGrant'], nowMs?: number): Responses['leaseGrant'] {
    return this.#applier.leaseGrant(r, { nowMs });
  }
  leaseRevoke(r: Requests['leaseRevoke']): Responses['leaseRevoke'] {
    return this.#applier.leaseRevoke(r, NO_CONTEXT);
  }

  /**
   * Becomes `other` (restored from a snapshot the leader sent) while keeping this object, its
   * lessor and its watch hub: the services hold references to them, and watchers stay
   * registered and replay what they missed from the new history.
   */
  adopt(other: StateMachine): void {
    const kv = this.kv;
    const seen = kv.currentRev;
    kv.index = other.kv.index;
    kv.currentRev = other.kv.currentRev;
    kv.compactRev = other.kv.compactRev;
    kv.log = other.kv.log;
    kv.sizeBytes = other.kv.sizeBytes;
    this.lessor.leases.clear();
    for (const [id, l] of other.lessor.leases) this.lessor.leases.set(id, l);
    this.lessor.idSeq = other.lessor.idSeq;
    this.alarms.replaceWith(other.alarms);
    this.auth.load(other.auth.toJSON());
    this.appliedIndex = other.appliedIndex;
    this.watches.unsyncAll(seen + 1);
  }

  /** Request checks that need no state (the server runs them before proposing). */
  validate(req: MvccRequest): void {
    const r = req as Partial<Requests>;
    if (r.put) checkPutRequest(r.put);
    else if (r.range) checkRangeRequest(r.range);
    else if (r.deleteRange) checkDeleteRequest(r.deleteRange);
    else if (r.txn) validateTxn(r.txn, this.maxTxnOps);
  }

  /** The quota check the server runs before proposing (etcd's quotaKVServer). */
  checkQuota(req: MvccRequest): void {
    if (this.quota.refusal(requestCost(req), this.kv.sizeBytes, this.alarms)) throw new NoSpaceError();
  }

  hashKV(revision = 0): HashKVResponse {
    return hashKV(this.kv, revision);
  }

  /** Leader-side: a lease's remaining TTL and (optionally) its keys. */
  leaseTimeToLive(r: LeaseTimeToLiveRequest, nowMs: number): LeaseTimeToLiveResponse {
    const l = this.lessor.get(r.ID);
    if (!l) return { header: header(this.kv.currentRev), ID: r.ID, TTL: -1n, grantedTTL: 0n, keys: [] };
    const keys = r.keys ? [...l.keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(buf) : [];
    return {
      header: header(this.kv.currentRev),
      ID: r.ID,
      TTL: BigInt(this.lessor.timeToLive(r.ID, nowMs)),
      grantedTTL: BigInt(l.ttl),
      keys,
    };
  }

  leaseLeases(): LeaseLeasesResponse {
    const ids = [...this.lessor.leases.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { header: header(this.kv.currentRev), leases: ids.map((ID) => ({ ID })) };
  }
}
