/**
 * The key-value surface of a client: get, range, put, delete, txn, watch. `Client` is the root
 * namespace; `client.namespace('app/')` returns one whose keys, ranges, compares and watches
 * are all under `app/`, with the prefix stripped from what comes back.
 */
import { KVDefinition } from '../gen/services.js';
import type { Key, Value } from './bytes.js';
import type { CallOptions } from './call-options.js';
import type { Client } from './client.js';
import type { Connections } from './connections.js';
import type { KeyRange, Keyspace } from './keyspace.js';
import {
  type DeleteOptions,
  type DeleteResult,
  deleteRequest,
  deleteResult,
  type KeyValue,
  type PutOptions,
  type PutResult,
  putRequest,
  putResult,
  type RangeOptions,
  type RangeResult,
  rangeRequest,
  rangeResult,
} from './kv.js';
import type { Lease, LeaseKeeper, LeaseOptions } from './lease.js';
import { runStm, type StmOptions, type StmTx } from './stm.js';
import { isReadOnly, TxnBuilder, type TxnResult, txnRequest, txnResult } from './txn.js';
import type { Watch, WatchHub, WatchOptions } from './watch.js';

/**
 * Options of a single-key read: a historical `revision`, a `serializable` (local, maybe stale)
 * read, and the call's signal and deadline.
 */
export type GetOptions = CallOptions & Pick<RangeOptions, 'revision' | 'serializable'>;

/** A transaction bound to a keyspace: build it, then `commit()`. */
export class BoundTxn extends TxnBuilder {
  readonly #ns: Namespace;
  constructor(ns: Namespace) {
    super();
    this.#ns = ns;
  }
  /** Sends the transaction; it is retried on another member only when it reads and never writes. */
  commit(opts?: CallOptions): Promise<TxnResult> {
    return this.#ns.commit(this, opts);
  }
}

/** Internals shared by a client and all its namespaces. */
export interface Core {
  conns: Connections;
  watches: WatchHub;
  leases: LeaseKeeper;
}

/**
 * The key-value API over a part of the keyspace: every key, range, compare and watch given to it
 * is under its prefix, and keys come back with the prefix stripped. `Client` is the root one; use
 * `client.namespace('app/')` to give a component a keyspace of its own.
 *
 * @example
 * ```ts
 * const app = client.namespace('app/');
 * await app.put('config', JSON.stringify({ level: 2 })); // writes app/config
 * const level = (await app.getJSON<{ level: number }>('config'))?.level;
 * ```
 */
export class Namespace {
  /** @internal */
  protected readonly core: Core;
  readonly #ks: Keyspace;
  readonly #client: Namespace;

  /** @internal */
  constructor(core: Core, ks: Keyspace, client?: Namespace) {
    this.core = core;
    this.#ks = ks;
    this.#client = client ?? this;
  }

  /**
   * The client this view was made from (itself for a client): recipes given a namespace read
   * its lease defaults there.
   */
  get client(): Client {
    return this.#client as Client;
  }

  /** The prefix every key of this view is under ('' for a client). */
  get prefix(): Buffer {
    return this.#ks.prefix;
  }

  /** A view whose keys are all under `prefix` (relative to this one). */
  namespace(prefix: Key): Namespace {
    return new Namespace(this.core, this.#ks.child(prefix), this.#client);
  }

  /** One key, or undefined when it does not exist. */
  async get(key: Key, opts?: GetOptions): Promise<KeyValue | undefined> {
    const r = await this.range(key, opts);
    return r.kvs[0];
  }

  /** One key's value as UTF-8 text, or undefined when the key does not exist. */
  async getString(key: Key, opts?: GetOptions): Promise<string | undefined> {
    return (await this.get(key, opts))?.text();
  }

  /**
   * One key's value parsed as JSON (not checked against `T`), or undefined when the key does not
   * exist.
   */
  async getJSON<T = unknown>(key: Key, opts?: GetOptions): Promise<T | undefined> {
    return (await this.get(key, opts))?.json<T>();
  }

  /** The keys in a range: a key, `{ prefix }`, `{ fromKey }` or `{ key, end }`. */
  async range(range: KeyRange, opts?: RangeOptions & CallOptions): Promise<RangeResult> {
    const req = rangeRequest(this.#ks, range, opts);
    const r = await this.core.conns.unary('read', opts, (i, signal) =>
      this.core.conns.client(KVDefinition, i).range(req, { signal }),
    );
    return rangeResult(this.#ks, r);
  }

  /** How many keys are in a range. */
  async count(range: KeyRange, opts?: GetOptions): Promise<bigint> {
    return (await this.range(range, { ...opts, countOnly: true })).count;
  }

  /**
   * Writes a key. A put is not retried once it may have reached a member, so a failed put may
   * still have been applied.
   */
  async put(key: Key, value: Value, opts?: PutOptions & CallOptions): Promise<PutResult> {
    const req = putRequest(this.#ks, key, value, opts);
    const r = await this.core.conns.unary('write', opts, (i, signal) =>
      this.core.conns.client(KVDefinition, i).put(req, { signal }),
    );
    return putResult(this.#ks, r);
  }

  /** Writes a key with `JSON.stringify(value)`. */
  putJSON(key: Key, value: unknown, opts?: PutOptions & CallOptions): Promise<PutResult> {
    return this.put(key, JSON.stringify(value), opts);
  }

  /** Deletes a key or a range; resolves with how many were deleted. */
  async delete(range: KeyRange, opts?: DeleteOptions & CallOptions): Promise<DeleteResult> {
    const req = deleteRequest(this.#ks, range, opts);
    const r = await this.core.conns.unary('write', opts, (i, signal) =>
      this.core.conns.client(KVDefinition, i).deleteRange(req, { signal }),
    );
    return deleteResult(this.#ks, r);
  }

  /** Starts a transaction: `txn().if(...).success(...).failure(...).commit()`. */
  txn(): BoundTxn {
    return new BoundTxn(this);
  }

  /** @internal */
  async commit(t: TxnBuilder, opts?: CallOptions): Promise<TxnResult> {
    const spec = t.spec();
    const req = txnRequest(this.#ks, spec);
    const r = await this.core.conns.unary(isReadOnly(spec) ? 'read' : 'write', opts, (i, signal) =>
      this.core.conns.client(KVDefinition, i).txn(req, { signal }),
    );
    return txnResult(this.#ks, r);
  }

  /**
   * Runs `fn` as a software transactional memory transaction (Go's `concurrency.STM`): its reads
   * are cached, its writes buffered and applied in one Txn when it returns, provided nothing the
   * `isolation` level guards has changed since; else `fn` runs again, up to `retries` times.
   * Resolves with what `fn` returned. `fn` may run more than once: keep its side effects in `tx`.
   *
   * @example
   * ```ts
   * await client.put('acct/a', '100');
   * await client.stm(async (tx) => {
   *   const a = Number((await tx.getString('acct/a')) ?? '0');
   *   const b = Number((await tx.getString('acct/b')) ?? '0');
   *   tx.put('acct/a', String(a - 10));
   *   tx.put('acct/b', String(b + 10));
   * });
   * ```
   */
  stm<T>(fn: (tx: StmTx) => Promise<T> | T, opts?: StmOptions): Promise<T> {
    return runStm(this, fn, opts);
  }

  /**
   * Watches a key or range. Resolves once the server has created the watch, so every change
   * made after that is delivered. Iterate the result; leaving the loop cancels it.
   */
  watch(range: KeyRange, opts?: WatchOptions): Promise<Watch> {
    return this.core.watches.watch(this.#ks, range, opts);
  }

  /** Grants a lease and keeps it alive until revoked (see `Lease`). Leases are not namespaced. */
  lease(opts: LeaseOptions): Promise<Lease> {
    return this.core.leases.grant(opts);
  }
}
