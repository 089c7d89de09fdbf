/**
 * Software transactional memory over etcd, after Go's `clientv3/concurrency` STM: a callback
 * reads and writes through a transaction object; reads are cached, writes are buffered, and at
 * the end one Txn applies every write if nothing the isolation level guards has changed, else
 * the callback runs again. Keys are relative to the namespace the STM was started from.
 */
import { compareBytes, copyBytes, equalBytes, hex, type Key, toBuffer, type Value } from './bytes.js';
import { abortErrorOf, type CallOptions } from './call-options.js';
import { CompactedError, EtcdError } from './errors.js';
import { type KeyRange, ROOT } from './keyspace.js';
import { KeyValue, leaseId, type PutOptions, type RangeOptions, type RangeResult } from './kv.js';
import { type CompareSpec, compare, type OpSpec, op, type TxnBuilder, type TxnResult } from './txn.js';

/**
 * How much an STM transaction guarantees, Go's isolation levels (strongest first):
 * - `'serializable-snapshot'` (the default): every read sees the snapshot taken at the first
 *   read, and the commit fails if a key read or a key written has changed since that snapshot;
 * - `'serializable'`: every read sees that snapshot, and the commit fails if a key read has
 *   changed (a key written without being read may have changed);
 * - `'repeatable-reads'`: each key is read at the latest revision the first time, then from the
 *   cache, so reads inside one attempt may not be from one snapshot; the commit fails if a key
 *   read has changed, so a committed transaction still read values that were current together;
 * - `'read-committed'`: reads are cached but never checked: the commit always applies (a
 *   concurrent update can be lost).
 *
 * At the serializable levels a transaction that writes nothing sends no commit: its reads are
 * one snapshot already.
 */
export type StmIsolation = 'serializable-snapshot' | 'serializable' | 'repeatable-reads' | 'read-committed';

/** Options of `client.stm()`. `signal` and `timeoutMs` apply to each request it makes. */
export interface StmOptions extends CallOptions {
  /** The isolation level (default `'serializable-snapshot'`, as in Go). */
  isolation?: StmIsolation;
  /**
   * How many times the callback runs again after a conflict before `StmConflictError` (default
   * 10; `Infinity` retries until `signal` aborts, as Go does).
   */
  retries?: number;
}

/** Options of a write in an STM transaction. */
export type StmPutOptions = Pick<PutOptions, 'lease'>;

/**
 * The transaction an STM callback reads and writes through. Reads of a key written earlier in
 * the same attempt see that write; a key written here reads back with revisions 0 (it has none
 * until the commit). Writes reach the cluster together, only when the callback returns.
 */
export interface StmTx {
  /** One key, or undefined when it does not exist (or was deleted in this transaction). */
  get(key: Key): Promise<KeyValue | undefined>;
  /** One key's value as UTF-8 text, or undefined. */
  getString(key: Key): Promise<string | undefined>;
  /** One key's value parsed as JSON (not checked against `T`), or undefined. */
  getJSON<T = unknown>(key: Key): Promise<T | undefined>;
  /**
   * The keys in a range, in key order, with this transaction's writes applied. Guarded like a
   * key: the commit fails if a key in the range was created, changed or deleted (one compare per
   * key read, so a range of more than about 100 keys exceeds etcd's 128 compares per Txn).
   */
  range(range: KeyRange): Promise<KeyValue[]>;
  /** Buffers a write of `key`. */
  put(key: Key, value: Value, opts?: StmPutOptions): void;
  /** Buffers a delete of `key` (one key). */
  delete(key: Key): void;
}

/** An STM transaction still conflicted after its last retry (see `StmOptions.retries`). */
export class StmConflictError extends EtcdError {
  /** The `code` of this error, stable across releases and package copies. */
  static CODE = 'stm-conflict';
  /** How many times the callback ran. */
  readonly attempts: number;
  constructor(attempts: number) {
    super(`stm: transaction conflicted on each of its ${attempts} attempts`);
    this.attempts = attempts;
  }
}

/** What the STM needs of a client or namespace. */
export interface StmStore {
  range(range: KeyRange, opts?: RangeOptions & CallOptions): Promise<RangeResult>;
  txn(): TxnBuilder & { commit(opts?: CallOptions): Promise<TxnResult> };
}

interface Read {
  kv: KeyValue | undefined;
  /** The revision the read was served at. */
  rev: bigint;
}

interface RangeRead {
  range: KeyRange;
  start: Buffer;
  end: Buffer;
  kvs: KeyValue[];
  rev: bigint;
}

interface Write {
  key: Buffer;
  /** undefined: a delete. */
  value: Buffer | undefined;
  lease: bigint;
}

/** etcd's default limit on the operations of one Txn branch. */
const MAX_TXN_OPS = 128;

const id = (k: Uint8Array): string => hex(k);

/** Whether `k` is in [start, end), in a root keyspace's wire form (end empty: `start` alone; `\0`: to the end). */
function inRange(k: Buffer, start: Buffer, end: Buffer): boolean {
  if (end.length === 0) return equalBytes(k, start);
  if (compareBytes(k, start) < 0) return false;
  return (end.length === 1 && end[0] === 0) || compareBytes(k, end) < 0;
}

/** One run of the callback: its read set, write set and snapshot revision. */
class Attempt implements StmTx {
  readonly #store: StmStore;
  readonly #isolation: StmIsolation;
  readonly #call: CallOptions;
  readonly #prefetch: Map<string, Read>;
  readonly #reads = new Map<string, Read & { key: Buffer }>();
  readonly #ranges: RangeRead[] = [];
  readonly #writes = new Map<string, Write>();
  /** The revision of the first read, which the serializable levels read every key at. */
  #snapshot: bigint | undefined;

  constructor(store: StmStore, isolation: StmIsolation, call: CallOptions, prefetch: Map<string, Read>) {
    this.#store = store;
    this.#isolation = isolation;
    this.#call = call;
    this.#prefetch = prefetch;
    // Keys refetched by the last attempt's failed commit are one snapshot: start from it.
    for (const p of prefetch.values()) this.#snapshot = p.rev;
  }

  get #pinned(): boolean {
    return this.#isolation === 'serializable' || this.#isolation === 'serializable-snapshot';
  }

  #readOptions(): RangeOptions & CallOptions {
    return this.#pinned && this.#snapshot !== undefined
      ? { ...this.#call, revision: this.#snapshot }
      : this.#call;
  }

  /** Records the revision of a read; the first one fixes the snapshot. */
  #served(r: RangeResult): bigint {
    this.#snapshot ??= r.header.revision;
    return this.#pinned ? this.#snapshot : r.header.revision;
  }

  async get(key: Key): Promise<KeyValue | undefined> {
    const k = toBuffer(key);
    const w = this.#writes.get(id(k));
    if (w) return w.value && new KeyValue(k, w.value, 0n, 0n, 0n, w.lease);
    const cached = this.#reads.get(id(k));
    if (cached) return cached.kv;
    // A key already read as part of a range reads the same again.
    for (const r of this.#ranges)
      if (inRange(k, r.start, r.end)) return r.kvs.find((kv) => equalBytes(kv.key, k));
    const pre = this.#prefetch.get(id(k));
    let read: Read;
    if (pre) {
      this.#prefetch.delete(id(k));
      this.#snapshot ??= pre.rev;
      read = pre;
    } else {
      const r = await this.#store.range(k, this.#readOptions());
      read = { kv: r.kvs[0], rev: this.#served(r) };
    }
    this.#reads.set(id(k), { ...read, key: k });
    return read.kv;
  }

  async getString(key: Key): Promise<string | undefined> {
    return (await this.get(key))?.text();
  }

  async getJSON<T = unknown>(key: Key): Promise<T | undefined> {
    return (await this.get(key))?.json<T>();
  }

  async range(range: KeyRange): Promise<KeyValue[]> {
    const { key: start, rangeEnd: end } = ROOT.range(range);
    let read = this.#ranges.find((r) => equalBytes(r.start, start) && equalBytes(r.end, end));
    if (!read) {
      const r = await this.#store.range(range, this.#readOptions());
      read = { range, start, end, kvs: r.kvs, rev: this.#served(r) };
      this.#ranges.push(read);
    }
    const out = new Map(read.kvs.map((kv) => [id(kv.key), kv]));
    for (const [h, w] of this.#writes) {
      if (!inRange(w.key, start, end)) continue;
      if (w.value) out.set(h, new KeyValue(w.key, w.value, 0n, 0n, 0n, w.lease));
      else out.delete(h);
    }
    return [...out.values()].sort((a, b) => compareBytes(a.key, b.key));
  }

  put(key: Key, value: Value, opts: StmPutOptions = {}): void {
    const k = toBuffer(key);
    this.#writes.set(id(k), { key: k, value: copyBytes(toBuffer(value)), lease: leaseId(opts.lease) });
  }

  delete(key: Key): void {
    const k = toBuffer(key);
    this.#writes.set(id(k), { key: k, value: undefined, lease: 0n });
  }

  /** What must not have changed for the writes to apply. */
  #compares(): CompareSpec[] {
    if (this.#isolation === 'read-committed') return [];
    const out: CompareSpec[] = [];
    // A missing key has mod revision 0, so a key created since it was read fails this too.
    for (const r of this.#reads.values()) out.push(compare.modRevision(r.key, '==', r.kv?.modRevision ?? 0n));
    for (const r of this.#ranges) {
      // Nothing in the range created or changed since the read, and nothing read deleted.
      out.push(compare.modRevision(r.range, '<', r.rev + 1n));
      for (const kv of r.kvs) out.push(compare.modRevision(kv.key, '==', kv.modRevision));
    }
    if (this.#isolation === 'serializable-snapshot' && this.#snapshot !== undefined)
      for (const w of this.#writes.values()) out.push(compare.modRevision(w.key, '<', this.#snapshot + 1n));
    return out;
  }

  /** Commits; resolves true when applied, else false with the keys read refetched for the next attempt. */
  async commit(next: Map<string, Read>): Promise<boolean> {
    // Reads from one snapshot are consistent as they are: a read-only attempt needs no check.
    if (this.#writes.size === 0 && (this.#pinned || this.#isolation === 'read-committed')) return true;
    const compares = this.#compares();
    const writes: OpSpec[] = [...this.#writes.values()].map((w) =>
      w.value ? op.put(w.key, w.value, { lease: w.lease }) : op.delete(w.key),
    );
    // The failure branch reads the keys again, saving the next attempt a round trip each.
    const keys = this.#reads.size <= MAX_TXN_OPS ? [...this.#reads.values()].map((r) => r.key) : [];
    const r = await this.#store
      .txn()
      .if(...compares)
      .success(...writes)
      .failure(...keys.map((k) => op.get(k)))
      .commit(this.#call);
    if (r.succeeded) return true;
    keys.forEach((k, i) => {
      const res = r.responses[i] as RangeResult;
      next.set(id(k), { kv: res.kvs[0], rev: r.header.revision });
    });
    return false;
  }
}

/** Runs `fn` as an STM transaction on `store` (see `Namespace.stm`). */
export async function runStm<T>(
  store: StmStore,
  fn: (tx: StmTx) => Promise<T> | T,
  opts: StmOptions = {},
): Promise<T> {
  const { isolation = 'serializable-snapshot', retries = 10, ...call } = opts;
  if (!(retries >= 0) || (Number.isFinite(retries) && !Number.isInteger(retries)))
    throw new TypeError(`stm retries must be a whole number or Infinity, got ${String(retries)}`);
  let prefetch = new Map<string, Read>();
  for (let attempt = 1; ; attempt++) {
    if (call.signal?.aborted) throw abortErrorOf(call.signal);
    const tx = new Attempt(store, isolation, call, prefetch);
    prefetch = new Map();
    try {
      const value = await fn(tx);
      if (await tx.commit(prefetch)) return value;
    } catch (err) {
      // The snapshot was compacted away while the attempt ran: a fresh one reads at the head.
      if (!(err instanceof CompactedError)) throw err;
    }
    if (attempt > retries) throw new StmConflictError(attempt);
  }
}
