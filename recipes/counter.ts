/**
 * A shared atomic counter (Curator's `DistributedAtomicLong` / `SharedCount`): the key `name`
 * holds a decimal integer (a missing key counts as 0). Every change is an STM transaction
 * (`client.stm()`): a compare-and-swap on the key's mod revision, retried with the value the
 * failed attempt read back, so concurrent `add()`s from any number of clients never lose an
 * update. Values are bigints: no overflow.
 */
import { type Client, EtcdError, type KeyValue, type Namespace } from '../src/core.js';
import { checkRecipeName, keyOf } from './internal/names.js';

/** The counter's key holds something that is not a decimal integer. */
export class CounterValueError extends EtcdError {
  /** The `code` of this error, stable across releases and package copies. */
  static CODE = 'counter-invalid';
}

/** What the counter's calls take. */
export interface CounterCallOptions {
  /** Aborting stops retrying (and cancels the request in flight). */
  signal?: AbortSignal;
  /** Deadline of each request (default: the client's). */
  timeoutMs?: number;
}

const INTEGER = /^-?\d+$/;

/**
 * An atomic counter shared by every client: updates are compare-and-swaps retried until they
 * land, so concurrent `add()`s never lose one. Get one with `counter()`.
 *
 * @example
 * ```ts
 * import { counter } from 'concord-kv/recipes';
 * const visits = counter(client, 'stats/visits');
 * const n = await visits.increment(); // the new value, a bigint
 * ```
 */
export class Counter {
  /** The counter's name: the key that holds its value. */
  readonly name: string;
  readonly #client: Client | Namespace;
  readonly #key: Buffer;

  constructor(client: Client | Namespace, name: string) {
    checkRecipeName('counter', name);
    this.#client = client;
    this.name = name;
    this.#key = keyOf(name);
  }

  #parse(kv: KeyValue | undefined): bigint {
    if (!kv) return 0n;
    const text = kv.text();
    if (!INTEGER.test(text)) {
      throw new CounterValueError(`counter ${this.name} holds ${JSON.stringify(text)}, not an integer`);
    }
    return BigInt(text);
  }

  /** The current value (0 if the key does not exist). */
  async get(o: CounterCallOptions = {}): Promise<bigint> {
    return this.#parse(await this.#client.get(this.#key, o));
  }

  /** Adds `delta` atomically and resolves with the new value. */
  async add(delta: bigint | number, o: CounterCallOptions = {}): Promise<bigint> {
    const d = toBigInt(delta, 'delta');
    let next = 0n;
    await this.#update((cur) => {
      next = cur + d;
      return next;
    }, o);
    return next;
  }

  /** Adds 1 atomically and resolves with the new value. */
  increment(o: CounterCallOptions = {}): Promise<bigint> {
    return this.add(1n, o);
  }

  /** Subtracts 1 atomically and resolves with the new value. */
  decrement(o: CounterCallOptions = {}): Promise<bigint> {
    return this.add(-1n, o);
  }

  /** Sets `next` only if the value is `expected` (0 matches a missing key); resolves whether it did. */
  async compareAndSet(
    expected: bigint | number,
    next: bigint | number,
    o: CounterCallOptions = {},
  ): Promise<boolean> {
    const e = toBigInt(expected, 'expected');
    const n = toBigInt(next, 'next');
    return this.#update((cur) => (cur === e ? n : undefined), o);
  }

  /** Sets the value unconditionally. */
  async set(value: bigint | number, o: CounterCallOptions = {}): Promise<void> {
    await this.#client.put(this.#key, String(toBigInt(value, 'value')), o);
  }

  /**
   * Applies `f` to the current value and writes the result if the key has not changed since it
   * was read; otherwise retries with the value the failed attempt read back, until it lands or
   * `o.signal` aborts. `f` returning undefined stops without writing (resolves false).
   */
  #update(f: (cur: bigint) => bigint | undefined, o: CounterCallOptions): Promise<boolean> {
    // One key read and written: serializable is enough, and a counter never gives up.
    return this.#client.stm(
      async (tx) => {
        const next = f(this.#parse(await tx.get(this.#key)));
        if (next === undefined) return false;
        tx.put(this.#key, String(next));
        return true;
      },
      { ...o, isolation: 'serializable', retries: Number.POSITIVE_INFINITY },
    );
  }
}

function toBigInt(v: bigint | number, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) throw new TypeError(`counter ${what} must be an integer, got ${String(v)}`);
  return BigInt(v);
}

/** A handle on the counter stored at the key `name`. */
export function counter(client: Client | Namespace, name: string): Counter {
  return new Counter(client, name);
}
