/**
 * A live, read-only copy of every key under a prefix (Curator's CuratorCache): one range, then
 * one watch from the revision after it, so no change is missed between the two and none is seen
 * twice. Reads are synchronous and make no request. It is the mirror the registry's
 * `discover()` and `flags()` are built on, exported.
 */
import type { Client, KeyValue, Namespace } from '../src/core.js';
import { Feed, Mirror, type MirrorChange, MirrorView } from './internal/mirror.js';

/** What `cache()` takes. */
export interface CacheOptions {
  /** Aborting closes the cache. */
  signal?: AbortSignal;
  /** Deadline of each request (the initial load, re-syncs, watch creation); default: the client's. */
  timeoutMs?: number;
  /**
   * Probe the watch this often for a member that hangs without closing the stream (default
   * 1000 ms; 0: never). A closed stream is noticed at once either way.
   */
  heartbeatMs?: number;
  /** Stale after this long without an answer from the watch (default 3 × heartbeatMs). */
  staleAfterMs?: number;
}

/** One change to a key of the cache, as its events and `changes()` report it. */
export interface CacheChange {
  /** A put (created or modified) or a delete (deleted, or its lease ended). */
  type: 'put' | 'delete';
  /** The key (as stored: the prefix included). */
  key: string;
  /** The entry before the change (undefined: the key is new). */
  prev: KeyValue | undefined;
  /** The entry after the change (undefined: the key was deleted). */
  next: KeyValue | undefined;
  /** The store revision of the change. */
  revision: bigint;
}

/** The events of a `Cache`, with their arguments. */
export interface CacheEvents {
  /** A key was created or modified. */
  put: [change: CacheChange];
  /** A key was deleted (or its lease ended). */
  delete: [change: CacheChange];
  /** Either of the two above. */
  change: [change: CacheChange];
  /** The watch went down (true), or is back and caught up (false). */
  stale: [stale: boolean];
  /** The cache was closed. */
  close: [];
}

/**
 * A live copy of the keys under a prefix. Read it synchronously (`get`, iteration, `size`);
 * listen with `on('put' | 'delete' | 'change', …)` or iterate `changes()`. Get one with
 * `cache()`, then `await ready()` for the initial load.
 *
 * @example
 * ```ts
 * import { cache } from 'concord-kv/recipes';
 * await using config = cache(client, 'config/');
 * await config.ready();
 * console.log(config.get('config/mode')?.text(), config.size);
 * config.on('change', (c) => console.log(c.type, c.key, c.prev?.text(), '->', c.next?.text()));
 * ```
 */
export class Cache extends MirrorView<CacheEvents> implements Iterable<[string, KeyValue]> {
  /** The prefix this cache copies. */
  readonly prefix: string;
  /** @internal */
  protected readonly mirror: Mirror;
  readonly #feed = new Feed<CacheChange>();
  #ready: Promise<void> | undefined;

  /** @internal Use `cache()`. */
  constructor(client: Client | Namespace, prefix: string, opts: CacheOptions) {
    super();
    this.prefix = prefix;
    this.mirror = new Mirror(client, prefix, opts, {
      change: (changes) => this.#onChanges(changes),
      stale: (stale) => this.safeEmit('stale', stale),
      closed: () => {
        this.#feed.end();
        this.safeEmit('close');
      },
    });
  }

  /**
   * Resolves once every key is loaded and watched (the first call starts loading; `cache()`
   * makes it). Rejects if the load fails; calling again retries.
   */
  ready(): Promise<void> {
    this.#ready ??= this.mirror.start().catch((e) => {
      this.#ready = undefined;
      throw e;
    });
    return this.#ready;
  }

  /** Whether the initial load has finished (before it, the cache is empty). */
  get loaded(): boolean {
    return this.mirror.loaded;
  }

  /** How many keys the copy holds. */
  get size(): number {
    return this.mirror.entries.size;
  }

  /** A key's entry (the full key, prefix included), or undefined when absent. */
  get(key: string): KeyValue | undefined {
    return this.mirror.entries.get(key);
  }

  /** Whether the copy holds `key`. */
  has(key: string): boolean {
    return this.mirror.entries.has(key);
  }

  /** The keys, in the order they were first seen. */
  keys(): IterableIterator<string> {
    return this.mirror.entries.keys();
  }

  /** The entries, in the order their keys were first seen. */
  values(): IterableIterator<KeyValue> {
    return this.mirror.entries.values();
  }

  /** `[key, entry]` pairs, in the order the keys were first seen. */
  entries(): IterableIterator<[string, KeyValue]> {
    return this.mirror.entries.entries();
  }

  /** `for (const [key, kv] of cache)`. */
  [Symbol.iterator](): IterableIterator<[string, KeyValue]> {
    return this.entries();
  }

  /** The changes from now on, until the cache closes (or `signal` aborts). */
  changes(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<CacheChange> {
    return this.#feed.iterate(opts.signal);
  }

  #onChanges(changes: MirrorChange[]): void {
    for (const c of changes) {
      const change: CacheChange = {
        type: c.next ? 'put' : 'delete',
        key: c.key,
        prev: c.prev,
        next: c.next,
        revision: c.revision,
      };
      this.#feed.push(change);
      this.safeEmit(change.type, change);
      this.safeEmit('change', change);
    }
  }
}

/**
 * A live copy of every key under `prefix`; it starts loading at once (`await ready()`).
 * `client` may be a `Client` or a `Namespace` (keys are then relative to the namespace).
 */
export function cache(client: Client | Namespace, prefix: string, opts: CacheOptions = {}): Cache {
  const c = new Cache(client, prefix, opts);
  // The load's failure is reported by ready(); don't let an unobserved one crash.
  c.ready().catch(() => {});
  return c;
}
