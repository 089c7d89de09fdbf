/**
 * A distributed FIFO queue (Curator's `DistributedQueue`) on the layout of etcd's Go recipe
 * `recipes.Queue`: items are keys `name/<unix time in ns>` and their order is their create
 * revision (not the key, so producers' clocks do not matter). `enqueue()` creates a new key
 * (retrying with another name on a collision); `dequeue()` takes the oldest item and deletes
 * it in a transaction that holds only if the item is unchanged since it was read (its mod
 * revision), so among concurrent consumers exactly one gets each item; the others move on to
 * the next one.
 *
 * Consumers always take the oldest item present, so each consumer sees items in enqueue order.
 * An idle consumer watches the prefix for new items from the revision at which it found the
 * queue empty, so none is missed.
 */
import {
  type Client,
  compare,
  type KeyValue,
  type Namespace,
  op,
  type RangeResult,
  type Value,
} from '../src/core.js';
import { codedError } from './internal/errors.js';
import { anySignal, nextChange } from './internal/leased.js';
import { checkRecipeName, keyOf } from './internal/names.js';

/** `dequeue()` found nothing within `waitTimeoutMs`. */
export class QueueTimeoutError extends codedError('queue-timeout') {}

/** What the queue's calls take. */
export interface QueueCallOptions {
  /** Aborting stops the call (a dequeue is never stopped halfway through taking an item). */
  signal?: AbortSignal;
  /** Deadline of each request (default: the client's). */
  timeoutMs?: number;
}

/** What `dequeue()` takes. */
export interface DequeueOptions extends QueueCallOptions {
  /** Give up after this many ms with `QueueTimeoutError` (default: wait as long as it takes). */
  waitTimeoutMs?: number;
}

/** Per-process source of increasing names; collisions with other processes are retried. */
let lastName = 0n;
function nextName(): bigint {
  const now = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  lastName = now > lastName ? now : lastName + 1n;
  return lastName;
}

/**
 * A FIFO work queue shared by producers and consumers in any number of processes, compatible
 * with etcd's Go `recipes.Queue`. Each item goes to exactly one consumer. Get one with `queue()`.
 *
 * @example
 * ```ts
 * import { queue } from 'concord-kv/recipes';
 * const jobs = queue(client, 'jobs');
 * await jobs.enqueue(JSON.stringify({ id: 7 }));
 * const item = await jobs.dequeue({ waitTimeoutMs: 10_000 }); // waits for an item
 * console.log(item.json());
 * ```
 */
export class Queue {
  /** The queue's name: its items are under `name/`. */
  readonly name: string;
  readonly #client: Client | Namespace;
  readonly #prefix: Buffer;

  constructor(client: Client | Namespace, name: string) {
    checkRecipeName('queue', name);
    this.#client = client;
    this.name = name;
    this.#prefix = keyOf(`${name}/`);
  }

  /** Appends `value`; resolves with the item's key and its create revision (its place in line). */
  async enqueue(
    value: Value,
    o: QueueCallOptions = {},
  ): Promise<{
    /** The item's key. */
    key: Buffer;
    /** The item's create revision: its place in line. */
    revision: bigint;
  }> {
    for (;;) {
      const key = keyOf(this.#prefix, String(nextName()));
      const r = await this.#client
        .txn()
        .if(compare.createRevision(key, '==', 0))
        .success(op.put(key, value))
        .commit(o);
      if (r.succeeded) return { key, revision: r.header.revision };
    }
  }

  /**
   * Removes and returns the oldest item, waiting for one if the queue is empty. Each item is
   * returned to exactly one caller. Aborting or the wait limit stops waiting, never in the
   * middle of taking an item.
   */
  async dequeue(o: DequeueOptions = {}): Promise<KeyValue> {
    const deadline = o.waitTimeoutMs ? AbortSignal.timeout(o.waitTimeoutMs) : undefined;
    const signal = anySignal(o.signal, deadline);
    try {
      for (;;) {
        signal?.throwIfAborted();
        const r = await this.#first(signal, o.timeoutMs);
        const kv = r.kvs[0];
        if (kv) {
          const got = await this.#claim(kv, o.timeoutMs);
          if (got) return got;
          continue;
        }
        // Empty as of r's revision: the first item put after it is the oldest one.
        const ev = await nextChange(
          this.#client,
          { prefix: this.#prefix },
          r.header.revision,
          { noDelete: true },
          signal,
        );
        if (ev) {
          const got = await this.#claim(ev.kv, o.timeoutMs);
          if (got) return got;
        }
      }
    } catch (e) {
      if (deadline?.aborted && !o.signal?.aborted) {
        throw new QueueTimeoutError(`queue ${this.name}: no item within ${o.waitTimeoutMs} ms`);
      }
      throw e;
    }
  }

  /** Removes and returns the oldest item, or undefined if the queue is empty. */
  async tryDequeue(o: QueueCallOptions = {}): Promise<KeyValue | undefined> {
    for (;;) {
      const kv = (await this.#first(o.signal, o.timeoutMs)).kvs[0];
      if (!kv) return undefined;
      const got = await this.#claim(kv, o.timeoutMs);
      if (got) return got;
    }
  }

  /** The oldest item without removing it, or undefined if the queue is empty. */
  async peek(o: QueueCallOptions = {}): Promise<KeyValue | undefined> {
    return (await this.#first(o.signal, o.timeoutMs)).kvs[0];
  }

  /** How many items are queued. */
  async size(o: QueueCallOptions = {}): Promise<number> {
    return Number(await this.#client.count({ prefix: this.#prefix }, o));
  }

  #first(signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<RangeResult> {
    return this.#client.range(
      { prefix: this.#prefix },
      { sort: { target: 'create', order: 'ascend' }, limit: 1, signal, timeoutMs },
    );
  }

  /**
   * Deletes `kv` if it is unchanged; resolves it if this call deleted it. Not abortable: a
   * delete cut short could apply without its answer arriving, and the item would be lost.
   */
  async #claim(kv: KeyValue, timeoutMs: number | undefined): Promise<KeyValue | undefined> {
    const r = await this.#client
      .txn()
      .if(compare.modRevision(kv.key, '==', kv.modRevision))
      .success(op.delete(kv.key))
      .commit({ timeoutMs });
    return r.succeeded ? kv : undefined;
  }
}

/** A handle on the queue `name` (items under `name/`). */
export function queue(client: Client | Namespace, name: string): Queue {
  return new Queue(client, name);
}
