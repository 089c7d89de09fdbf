/**
 * Leases. `client.lease({ ttl })` grants a lease and keeps it alive; every kept lease of a
 * client shares one LeaseKeepAlive stream. A lease is lost when the server says it is gone
 * (TTL <= 0 in a keepalive answer) or when no keepalive has been acknowledged for a whole TTL
 * counted from when that keepalive was *sent* (the server may have expired it by then).
 *
 * Holding a kept lease keeps the process alive (the stream and the keepalive timer are ref'd):
 * revoke it, or close the client, to let the process exit.
 */
import { ETCD_ERRORS } from '../errors/index.js';
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse } from '../gen/etcdserverpb/rpc.js';
import { LeaseDefinition } from '../gen/services.js';
import { AsyncQueue } from './async-queue.js';
import type { CallOptions } from './call-options.js';
import type { Connections } from './connections.js';
import { ClientClosedError, EtcdError, LeaseLostError } from './errors.js';
import { header, type ResponseHeader } from './kv.js';
import { type LoopStream, StreamLoop } from './stream-loop.js';

/** How often the keepalive loop looks at its leases. Tests may lower it. */
export const KEEPALIVE_TICK_MS = 100;
/** A keepalive unanswered for this long (or a third of the TTL, if longer) means a hung stream. */
export const HUNG_AFTER_MS = 1000;

/** What `client.lease()` takes. */
export interface LeaseOptions extends CallOptions {
  /** Time to live in seconds. */
  ttl: number;
  /** Ask for this lease ID instead of letting the server pick one. */
  id?: bigint;
  /** Keep the lease alive until revoked (default: the client's `leases.keepAlive`, true unless set). Off: it simply expires after `ttl`. */
  keepAlive?: boolean;
}

/** A lease's remaining time, as `lease.timeToLive()` and `client.leaseTimeToLive()` return it. */
export interface LeaseTimeToLive {
  /** The member and revision that answered. */
  header: ResponseHeader;
  /** The lease's ID. */
  id: bigint;
  /** Remaining seconds; -1 when the lease does not exist (expired or revoked). */
  ttl: number;
  /** The TTL the lease was granted with, in seconds. */
  grantedTtl: number;
  /** The keys attached to the lease (full keys, not namespaced), when `keys: true` was asked for. */
  keys: Buffer[];
}

/**
 * A lease granted by `client.lease()`: keys put with it are deleted when it ends, which is what
 * makes locks, elections and registrations free themselves when their holder dies. The client
 * keeps it alive until it is revoked or lost (unless `keepAlive: false`); watch `lost` or
 * `signal` to stop work that depended on it.
 *
 * @example
 * ```ts
 * await using lease = await client.lease({ ttl: 10 });
 * await client.put('workers/w1', 'up', { lease });
 * lease.signal.addEventListener('abort', () => console.log('lease ended:', lease.signal.reason));
 * ```
 */
export class Lease {
  /** The lease's ID, as etcd's tools show it (`etcdctl lease timetolive <hex id>`). */
  readonly id: bigint;
  /** The TTL the server granted, in seconds. */
  readonly ttl: number;
  readonly #keeper: LeaseKeeper;
  readonly #ended = new AbortController();
  #resolveLost!: (e: LeaseLostError) => void;
  /** Resolves (never rejects) when the lease is lost without being revoked through this object. */
  readonly lost: Promise<LeaseLostError>;
  #revoked = false;

  /** @internal */
  constructor(keeper: LeaseKeeper, id: bigint, ttl: number) {
    this.#keeper = keeper;
    this.id = id;
    this.ttl = ttl;
    this.lost = new Promise((r) => {
      this.#resolveLost = r;
    });
  }

  /** Aborts when the lease ends for any reason (lost, revoked, client closed); `reason` says which. */
  get signal(): AbortSignal {
    return this.#ended.signal;
  }

  /**
   * Whether the lease ended without being revoked through this object (expired, revoked elsewhere,
   * or its keepalives went unanswered for a TTL).
   */
  get isLost(): boolean {
    return this.#ended.signal.aborted && !this.#revoked;
  }

  /** @internal */
  _end(err: Error): void {
    if (this.#ended.signal.aborted) return;
    this.#ended.abort(err);
    if (err instanceof LeaseLostError && err.reason !== 'revoked') this.#resolveLost(err);
  }

  /** Revokes the lease: every key attached to it is deleted. */
  async revoke(opts?: CallOptions): Promise<void> {
    this.#revoked = true;
    this.#keeper.forget(this.id);
    this._end(new LeaseLostError(`lease ${this.id} revoked`, this.id, 'revoked'));
    await this.#keeper.revoke(this.id, opts);
  }

  /** Sends one keepalive now and resolves with the new remaining TTL in seconds. */
  keepAliveOnce(opts?: CallOptions): Promise<number> {
    return this.#keeper.keepAliveOnce(this.id, opts);
  }

  /** Asks the cluster for the remaining TTL (and, with `keys: true`, the attached keys). */
  timeToLive(opts?: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLive> {
    return this.#keeper.timeToLive(this.id, opts);
  }

  /** `await using lease = ...` revokes the lease at the end of the block, unless it has ended. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#ended.signal.aborted) await this.revoke();
  }
}

/** The keepalive stream, and the member it is open on. */
interface KeepAliveStream extends LoopStream {
  requests: AsyncQueue<LeaseKeepAliveRequest>;
  endpoint: number;
}

interface Kept {
  lease: Lease;
  ttlMs: number;
  /** Keepalives sent on the current stream and not yet answered (send times, oldest first). */
  inflight: number[];
  lastSent: number;
  /** When the server may have expired it, if no later keepalive is acknowledged. */
  deadline: number;
}

export class LeaseKeeper {
  readonly #conns: Connections;
  readonly #kept = new Map<bigint, Kept>();
  /** Leases granted with `keepAlive: false`, with the timer that ends them. */
  readonly #expiring = new Map<bigint, { lease: Lease; timer: ReturnType<typeof setTimeout> }>();
  /** The keepalive stream, open while a lease is kept. */
  readonly #loop: StreamLoop<KeepAliveStream, LeaseKeepAliveResponse>;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Injected clock (ms) for tests. */
  now: () => number = () => performance.now();

  readonly #defaults: { keepAlive: boolean };

  constructor(conns: Connections, defaults: { keepAlive: boolean } = { keepAlive: true }) {
    this.#conns = conns;
    this.#defaults = defaults;
    this.#loop = new StreamLoop(this.#conns, {
      hasWork: () => this.#kept.size > 0,
      create: (i) => ({
        requests: new AsyncQueue<LeaseKeepAliveRequest>(),
        abort: new AbortController(),
        endpoint: i,
      }),
      started: () => {
        const now = this.now();
        // A fresh stream: renew everything at once, answers on the old stream are lost.
        for (const k of this.#kept.values()) {
          k.inflight = [];
          this.#send(k, now);
        }
      },
      call: (i, s, metadata) =>
        this.#conns
          .client(LeaseDefinition, i)
          .leaseKeepAlive(s.requests, { signal: s.abort.signal, metadata }),
      onResponse: (_s, res) => this.#onResponse(res),
    });
    conns.closeSignal.addEventListener('abort', () => this.#closeAll(), { once: true });
  }

  get size(): number {
    return this.#kept.size;
  }

  async grant(opts: LeaseOptions): Promise<Lease> {
    if (!Number.isFinite(opts.ttl) || opts.ttl <= 0) {
      throw new TypeError(`lease ttl must be a positive number of seconds, got ${String(opts.ttl)}`);
    }
    const sentAt = this.now();
    const res = await this.#conns.unary('write', opts, (i, signal) =>
      this.#conns
        .client(LeaseDefinition, i)
        .leaseGrant({ TTL: BigInt(Math.ceil(opts.ttl)), ID: opts.id ?? 0n }, { signal }),
    );
    if (res.error) throw new EtcdError(res.error, { code: 'lease-grant' });
    const lease = new Lease(this, res.ID, Number(res.TTL));
    if (opts.keepAlive ?? this.#defaults.keepAlive) this.#keep(lease, sentAt);
    else this.#armExpiry(lease, sentAt + lease.ttl * 1000);
    return lease;
  }

  /**
   * A lease not kept alive ends (`signal`, `lost`) when its TTL runs out, counted from when the
   * last grant or `keepAliveOnce()` was sent; the timer is unref'd (nothing is held open).
   */
  #armExpiry(lease: Lease, deadline: number): void {
    const old = this.#expiring.get(lease.id);
    if (old) clearTimeout(old.timer);
    const timer = setTimeout(
      () => {
        this.#expiring.delete(lease.id);
        this.#ended(lease, new LeaseLostError(`lease ${lease.id} expired`, lease.id, 'expired'));
      },
      Math.max(0, deadline - this.now()),
    );
    // Browsers' timers are numbers, with no unref.
    (timer as { unref?: () => void }).unref?.();
    this.#expiring.set(lease.id, { lease, timer });
  }

  /** Ends the Lease object of `id` held by this client, if any, and stops tracking it. */
  #endLocal(id: bigint, err: LeaseLostError): void {
    const k = this.#kept.get(id);
    if (k) this.#ended(k.lease, err);
    const x = this.#expiring.get(id);
    if (x) {
      clearTimeout(x.timer);
      this.#expiring.delete(id);
      this.#ended(x.lease, err);
    }
  }

  /** Ends `lease`, telling diagnostics when it was lost rather than revoked here. */
  #ended(lease: Lease, err: LeaseLostError): void {
    if (lease.signal.aborted) return;
    lease._end(err);
    if (err.reason !== 'revoked')
      this.#conns.diagnostics.publish('leaseLost', () => ({ leaseId: lease.id, reason: err.reason }));
  }

  async revoke(id: bigint, opts?: CallOptions): Promise<void> {
    // `client.revokeLease(id)` on a lease this client keeps must end that Lease too: forgetting
    // it alone left its `signal` unaborted forever, so holders kept acting on a revoked lease.
    this.#endLocal(id, new LeaseLostError(`lease ${id} revoked`, id, 'revoked'));
    this.forget(id);
    await this.#conns.unary('write', opts, (i, signal) =>
      this.#conns.client(LeaseDefinition, i).leaseRevoke({ ID: id }, { signal }),
    );
  }

  /** Revokes every lease this client holds (kept alive or not); resolves when all have settled. */
  async revokeAll(opts?: CallOptions): Promise<void> {
    const ids = [...this.#kept.keys(), ...this.#expiring.keys()];
    await Promise.allSettled(ids.map((id) => this.revoke(id, opts)));
  }

  async keepAliveOnce(id: bigint, opts?: CallOptions): Promise<number> {
    const sentAt = this.now();
    // A one-shot stream: send one request, read one answer.
    const res = await this.#conns.unary('read', opts, async (i, signal) => {
      const q = new AsyncQueue<LeaseKeepAliveRequest>();
      q.push({ ID: id });
      try {
        for await (const r of this.#conns.client(LeaseDefinition, i).leaseKeepAlive(q, { signal })) return r;
      } finally {
        q.end();
      }
      throw new EtcdError('keepalive stream ended without an answer', { code: 'unavailable' });
    });
    const ttl = Number(res.TTL);
    if (ttl <= 0) {
      const err = new LeaseLostError(ETCD_ERRORS['lease-not-found'].message, id, 'expired');
      this.#endLocal(id, err);
      throw err;
    }
    const unkept = this.#expiring.get(id);
    if (unkept) this.#armExpiry(unkept.lease, sentAt + ttl * 1000);
    return ttl;
  }

  async timeToLive(id: bigint, opts?: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLive> {
    const r = await this.#conns.unary('read', opts, (i, signal) =>
      this.#conns
        .client(LeaseDefinition, i)
        .leaseTimeToLive({ ID: id, keys: opts?.keys ?? false }, { signal }),
    );
    return {
      header: header(r.header),
      id: r.ID,
      ttl: Number(r.TTL),
      grantedTtl: Number(r.grantedTTL),
      keys: r.keys,
    };
  }

  async list(opts?: CallOptions): Promise<bigint[]> {
    const r = await this.#conns.unary('read', opts, (i, signal) =>
      this.#conns.client(LeaseDefinition, i).leaseLeases({}, { signal }),
    );
    return r.leases.map((l) => l.ID);
  }

  /** Stops keeping `id` alive (it will expire on the server after its TTL unless revoked). */
  forget(id: bigint): void {
    this.#kept.delete(id);
    if (this.#kept.size === 0) this.#stop();
  }

  #keep(lease: Lease, sentAt: number): void {
    const ttlMs = lease.ttl * 1000;
    this.#kept.set(lease.id, { lease, ttlMs, inflight: [], lastSent: sentAt, deadline: sentAt + ttlMs });
    if (!this.#timer) this.#timer = setInterval(() => this.#tick(), KEEPALIVE_TICK_MS);
    this.#loop.ensure();
  }

  #lose(k: Kept, err: LeaseLostError): void {
    this.#kept.delete(k.lease.id);
    this.#ended(k.lease, err);
    if (this.#kept.size === 0) this.#stop();
  }

  #tick(): void {
    const now = this.now();
    let hung = false;
    for (const k of this.#kept.values()) {
      // An unanswered keepalive older than a third of the TTL: the member is hung or cut off
      // (a paused process answers nothing and closes nothing). Move before the lease expires.
      const oldest = k.inflight[0];
      if (oldest !== undefined && now - oldest > Math.max(HUNG_AFTER_MS, k.ttlMs / 3)) hung = true;
      if (now >= k.deadline) {
        this.#lose(
          k,
          new LeaseLostError(
            `lease ${k.lease.id} lost: no keepalive acknowledged within its TTL of ${k.lease.ttl}s`,
            k.lease.id,
            'keepalive-failed',
          ),
        );
        continue;
      }
      // Renew after a third of the TTL, like etcd's clients.
      if (this.#loop.current && now - k.lastSent >= k.ttlMs / 3) this.#send(k, now);
    }
    const s = this.#loop.current;
    if (hung && s) {
      this.#conns.failed(s.endpoint, 'hung');
      s.abort.abort();
    }
  }

  #send(k: Kept, now: number): void {
    k.lastSent = now;
    k.inflight.push(now);
    this.#loop.current?.requests.push({ ID: k.lease.id });
  }

  #onResponse(res: LeaseKeepAliveResponse): void {
    const k = this.#kept.get(res.ID);
    if (!k) return;
    const sentAt = k.inflight.shift() ?? k.lastSent;
    this.#conns.diagnostics.publish('keepaliveLag', () => ({ leaseId: res.ID, lagMs: this.now() - sentAt }));
    const ttl = Number(res.TTL);
    if (ttl <= 0) {
      this.#lose(
        k,
        new LeaseLostError(`lease ${res.ID} expired or was revoked on the server`, res.ID, 'expired'),
      );
      return;
    }
    k.deadline = Math.max(k.deadline, sentAt + ttl * 1000);
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#loop.current?.abort.abort();
  }

  #closeAll(): void {
    const err = new ClientClosedError('client is closed');
    for (const k of this.#kept.values()) k.lease._end(err);
    this.#kept.clear();
    for (const x of this.#expiring.values()) {
      clearTimeout(x.timer);
      x.lease._end(err);
    }
    this.#expiring.clear();
    this.#stop();
  }
}
