/**
 * Pieces shared by the semaphore, read-write lock, barriers and queue: getting the lease a
 * contender holds its key on, unique key suffixes, a handle for something held on a lease,
 * and waiting for the next change of a key or prefix.
 */
import {
  type Client,
  CompactedError,
  type CompareSpec,
  compare,
  type EtcdError,
  type KeyRange,
  type Lease,
  LeaseLostError,
  LeaseNotFoundError,
  type Namespace,
  op,
  type WatchEvent,
  type WatchOptions,
} from '../../src/core.js';
import { withDeadline } from './wait.js';

export const hex = (id: bigint): string => id.toString(16);

/** `<lease id hex>-<12 random hex digits>`: unique even when several holders share one lease. */
export const contenderId = (lease: Lease): string => `${hex(lease.id)}-${randomHex(6)}`;

/** `n` random bytes in hex, from Web Crypto (global in Node 20 and in every fetch-only runtime). */
const randomHex = (n: number): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, '0')).join('');

export interface LeaseChoice {
  /** TTL in seconds of a lease created for the purpose (default 60). */
  ttl?: number;
  /** Use this lease instead (never revoked by the recipe). */
  lease?: Lease;
  /** Keep a created lease alive (default true). */
  keepAlive?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The lease choice of one call: each of `call`'s settings, else the recipe's (`own`). */
export const leaseChoice = (call: LeaseChoice, own: LeaseChoice): LeaseChoice => ({
  ttl: call.ttl ?? own.ttl,
  lease: call.lease ?? own.lease,
  keepAlive: call.keepAlive ?? own.keepAlive,
});

/** The caller's lease, or a new one the recipe owns (and revokes when done). */
export async function obtainLease(
  client: Client | Namespace,
  o: LeaseChoice,
): Promise<{ lease: Lease; ownsLease: boolean }> {
  if (o.lease) return { lease: o.lease, ownsLease: false };
  const lease = await client.lease({
    ttl: o.ttl ?? client.client.leaseDefaults.ttl ?? 60,
    keepAlive: o.keepAlive,
    signal: o.signal,
    timeoutMs: o.timeoutMs,
  });
  return { lease, ownsLease: true };
}

/**
 * Removes a contender's key: revokes the lease when the recipe created it (which deletes the
 * key; a lease already gone took the key with it), else deletes the key if it is still the one created at `createRevision`.
 */
export async function removeKey(
  client: Client | Namespace,
  h: { key: Buffer; createRevision: bigint; lease: Lease; ownsLease: boolean },
  timeoutMs?: number,
): Promise<void> {
  if (h.ownsLease) {
    try {
      await h.lease.revoke({ timeoutMs });
    } catch (e) {
      // The lease expired or was revoked elsewhere (the hold was lost): its keys went with it,
      // so there is nothing left to remove (withLock must not turn fn's result into this error).
      if (!(e instanceof LeaseNotFoundError)) throw e;
    }
    return;
  }
  await client
    .txn()
    .if(compare.createRevision(h.key, '==', h.createRevision))
    .success(op.delete(h.key))
    .commit({ timeoutMs });
}

/**
 * Waits for a queued contender's turn (`wait`) within `o.waitTimeoutMs` and `o.signal`. If the
 * turn does not come (timeout, abort, error), the contender's key is removed before rethrowing,
 * so nothing stays queued behind a caller that gave up.
 */
export async function awaitTurn(
  client: Client | Namespace,
  queued: Parameters<typeof removeKey>[1],
  o: { signal?: AbortSignal; waitTimeoutMs?: number },
  timeoutMs: number | undefined,
  wait: (signal: AbortSignal | undefined) => Promise<void>,
  timedOut: () => Error,
): Promise<void> {
  try {
    await withDeadline(o.waitTimeoutMs, o.signal, wait, timedOut);
  } catch (e) {
    await removeKey(client, queued, timeoutMs).catch(() => {});
    throw e;
  }
}

/** How a recipe names the errors of something held. */
export interface HoldErrors<E extends EtcdError> {
  /** The error `lost` resolves with (and `signal` aborts with) when the lease is lost. */
  lost: (message: string, cause: LeaseLostError) => E;
  /** The reason `signal` aborts with on `release()`. */
  released: (message: string) => EtcdError;
}

/**
 * Something held on a lease until released: `lost` resolves (never rejects) if the lease is
 * lost first, `signal` aborts on release or loss, `release()` is idempotent and `await using`
 * releases.
 */
export class LeasedHold<E extends EtcdError = EtcdError> {
  readonly #client: Client | Namespace;
  readonly #ownsLease: boolean;
  readonly #ended = new AbortController();
  readonly #what: string;
  readonly #errors: HoldErrors<E>;
  readonly #timeoutMs: number | undefined;
  /** Resolves (never rejects) if the lease is lost while held. */
  readonly lost: Promise<E>;
  #released = false;
  #lostError: E | undefined;
  readonly #onLeaseEnd = () => {
    const reason: unknown = this.lease.signal.reason;
    // The lease's signal often says it first: `signal` then aborts with the same error as `lost`.
    if (reason instanceof LeaseLostError && reason.reason !== 'revoked') this.#lose(reason);
    else this.#ended.abort(reason);
  };

  constructor(
    client: Client | Namespace,
    /** The recipe instance's name. */
    readonly name: string,
    what: string,
    readonly key: Buffer,
    readonly createRevision: bigint,
    readonly lease: Lease,
    ownsLease: boolean,
    errors: HoldErrors<E>,
    timeoutMs?: number,
  ) {
    this.#client = client;
    this.#ownsLease = ownsLease;
    this.#what = what;
    this.#errors = errors;
    this.#timeoutMs = timeoutMs;
    this.lost = lease.lost.then((e: LeaseLostError) => {
      // A shared lease lost after this hold was released: nothing of ours was lost.
      if (this.#released) return new Promise<E>(() => {});
      return this.#lose(e);
    });
    // Revoked elsewhere (or the client closed): no longer held either.
    lease.signal.addEventListener('abort', this.#onLeaseEnd, { once: true });
  }

  #lose(e: LeaseLostError): E {
    this.#lostError ??= this.#errors.lost(`${this.#what} lost: ${e.message}`, e);
    this.#ended.abort(this.#lostError);
    return this.#lostError;
  }

  /** Aborts when released or lost; `reason` says which. */
  get signal(): AbortSignal {
    return this.#ended.signal;
  }

  /** A compare that holds only while this holder's key is the one it created. */
  guard(): CompareSpec {
    return compare.createRevision(this.key, '==', this.createRevision);
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#ended.abort(this.#errors.released(`${this.#what} released`));
    // A shared lease outlives this hold: do not pile up listeners on it.
    this.lease.signal.removeEventListener('abort', this.#onLeaseEnd);
    await removeKey(
      this.#client,
      { key: this.key, createRevision: this.createRevision, lease: this.lease, ownsLease: this.#ownsLease },
      this.#timeoutMs,
    );
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

type KV = Client | Namespace;

/**
 * Resolves at the first event on `range` after revision `after` (only deletes with
 * `{ noPut: true }`, only puts with `{ noDelete: true }`), with that event; resolves undefined
 * if the history was compacted meanwhile (the caller re-reads the state). Rejects if `signal`
 * aborts.
 */
export async function nextChange(
  kv: KV,
  range: KeyRange,
  after: bigint,
  filters: WatchOptions['filters'],
  signal?: AbortSignal,
): Promise<WatchEvent | undefined> {
  signal?.throwIfAborted();
  let watch: Awaited<ReturnType<KV['watch']>>;
  try {
    watch = await kv.watch(range, { startRevision: after + 1n, filters, signal, timeoutMs: 0 });
  } catch (e) {
    if (e instanceof CompactedError) return undefined;
    throw e;
  }
  const onAbort = () => watch.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const ev of watch) return ev;
  } catch (e) {
    if (e instanceof CompactedError) return undefined;
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    watch.cancel();
  }
  // The watch ended without an event: only an abort (or a closed client) does that.
  signal?.throwIfAborted();
  return undefined;
}

/** `a` and, when given, `b` combined. */
export function anySignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (!a) return b;
  if (!b) return a;
  return AbortSignal.any([a, b]);
}
