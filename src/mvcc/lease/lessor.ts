/**
 * Leases (etcd's lessor). The replicated part — which leases exist, their granted TTL, the
 * checkpointed remaining TTL, the keys attached — changes only through applied requests.
 * Expiry times are local: only the member that is primary (the Raft leader) tracks them, from
 * times its caller passes in; it lists what is due and the server proposes revokes through
 * Raft. A new primary starts each lease from its checkpointed remaining TTL, so leadership
 * changes cannot keep a lease alive forever.
 */
import { LeaseExistsError, LeaseNotFoundError, LeaseTTLTooLargeError } from '../errors.js';
import type { LeaseAttachments } from '../kv/kv-store.js';

/** etcd's MaxLeaseTTL (seconds). */
export const MAX_LEASE_TTL = 9_000_000_000;
/** Default minimum TTL (seconds): etcd's ceil(1.5 × election timeout) with the default 1 s timeout. */
export const DEFAULT_MIN_LEASE_TTL = 2;

export class Lease {
  /** Keys attached (latin1). */
  readonly keys = new Set<string>();
  /** Expiry time in caller milliseconds; Infinity unless the lessor is primary. */
  expiry = Number.POSITIVE_INFINITY;
  constructor(
    readonly id: bigint,
    /** Granted TTL, seconds. */
    readonly ttl: number,
    /** Remaining TTL recorded by the last checkpoint (seconds); 0 = none. */
    public remainingTTL = 0,
  ) {}
}

export interface LessorOptions {
  minTtlSeconds?: number;
}

const MASK63 = (1n << 63n) - 1n;

export class Lessor implements LeaseAttachments {
  readonly leases = new Map<bigint, Lease>();
  readonly minTtl: number;
  /** State of the deterministic ID generator for grants that come without an ID. */
  idSeq = 0n;
  #primary = false;
  #now = 0;

  constructor(opts: LessorOptions = {}) {
    this.minTtl = opts.minTtlSeconds ?? DEFAULT_MIN_LEASE_TTL;
  }

  get isPrimary(): boolean {
    return this.#primary;
  }

  has(id: bigint): boolean {
    return this.leases.has(id);
  }

  get(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  /** A fresh positive 63-bit ID, the same on every member (splitmix64 over a replicated counter). */
  nextId(): bigint {
    for (;;) {
      this.idSeq = (this.idSeq + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
      let z = this.idSeq;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
      z = (z ^ (z >> 31n)) & MASK63;
      if (z !== 0n && !this.leases.has(z)) return z;
    }
  }

  /**
   * Validates and creates a lease. `nowMs` matters only on the primary (default: the last
   * time it was given, by promote or renew).
   */
  grant(id: bigint, ttl: number, nowMs: number = this.#now): Lease {
    this.#now = Math.max(this.#now, nowMs);
    if (id === 0n) id = this.nextId();
    if (ttl > MAX_LEASE_TTL) throw new LeaseTTLTooLargeError();
    if (this.leases.has(id)) throw new LeaseExistsError();
    const l = new Lease(id, Math.max(ttl, this.minTtl));
    if (this.#primary) l.expiry = nowMs + l.ttl * 1000;
    this.leases.set(id, l);
    return l;
  }

  /** Removes the lease and returns its keys in key order (the caller deletes them). */
  revoke(id: bigint): string[] {
    const l = this.leases.get(id);
    if (!l) throw new LeaseNotFoundError();
    this.leases.delete(id);
    return [...l.keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  attach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }

  /** Applies a checkpoint of remaining TTLs (replicated). */
  checkpoint(id: bigint, remainingTTL: number): void {
    const l = this.leases.get(id);
    if (l) l.remainingTTL = remainingTTL;
  }

  /** This member became leader: start every lease's clock from its checkpoint (or full TTL). */
  promote(nowMs: number, extendMs = 0): void {
    this.#primary = true;
    this.#now = nowMs;
    for (const l of this.leases.values())
      l.expiry = nowMs + extendMs + (l.remainingTTL > 0 ? l.remainingTTL : l.ttl) * 1000;
  }

  /** This member stopped being leader: it no longer expires anything. */
  demote(): void {
    this.#primary = false;
    for (const l of this.leases.values()) l.expiry = Number.POSITIVE_INFINITY;
  }

  /**
   * A keepalive (on the primary, not replicated). Returns the TTL, and whether a checkpoint
   * with remaining TTL 0 should be proposed to clear an older one (etcd does the same, so a
   * renewed lease does not restart from a stale checkpoint after a leader change).
   */
  renew(id: bigint, nowMs: number): { ttl: number; clearCheckpoint: boolean } {
    const l = this.leases.get(id);
    if (!l) throw new LeaseNotFoundError();
    this.#now = nowMs;
    if (this.#primary) l.expiry = nowMs + l.ttl * 1000;
    return { ttl: l.ttl, clearCheckpoint: l.remainingTTL > 0 };
  }

  /** Remaining TTL in seconds (rounded up) as of nowMs; the granted TTL when not primary. */
  remaining(id: bigint, nowMs: number): number {
    const l = this.leases.get(id);
    if (!l) throw new LeaseNotFoundError();
    if (!Number.isFinite(l.expiry)) return l.remainingTTL > 0 ? l.remainingTTL : l.ttl;
    return Math.max(0, Math.ceil((l.expiry - nowMs) / 1000));
  }

  /**
   * The TTL that LeaseTimeToLive reports: whole seconds left, truncated as etcd does
   * (`int64(l.Remaining().Seconds())`: 59 right after a grant of 60). `remaining()` rounds up,
   * which is what "still alive?" checks want.
   */
  timeToLive(id: bigint, nowMs: number): number {
    const l = this.leases.get(id);
    if (!l) throw new LeaseNotFoundError();
    if (!Number.isFinite(l.expiry)) return l.remainingTTL > 0 ? l.remainingTTL : l.ttl;
    return Math.max(0, Math.floor((l.expiry - nowMs) / 1000));
  }

  /** Leases due at nowMs (primary only), earliest first, at most `limit`. */
  expired(nowMs: number, limit = Number.POSITIVE_INFINITY): bigint[] {
    if (!this.#primary) return [];
    const due: Lease[] = [];
    for (const l of this.leases.values()) if (l.expiry <= nowMs) due.push(l);
    due.sort((a, b) => a.expiry - b.expiry || (a.id < b.id ? -1 : 1));
    return due.slice(0, limit).map((l) => l.id);
  }

  /** Remaining TTLs worth recording (primary only): leases whose clock has run for at least minElapsedS. */
  checkpointsDue(nowMs: number, minElapsedS = 1): { ID: bigint; remainingTTL: bigint }[] {
    if (!this.#primary) return [];
    const out: { ID: bigint; remainingTTL: bigint }[] = [];
    for (const l of this.leases.values()) {
      const rem = Math.max(0, Math.ceil((l.expiry - nowMs) / 1000));
      if (l.ttl - rem >= minElapsedS) out.push({ ID: l.id, remainingTTL: BigInt(rem) });
    }
    return out;
  }
}
