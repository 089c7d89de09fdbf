/**
 * A live copy of some key ranges: one `cache()` (the recipes' prefix mirror) per prefix, so
 * each is one range and one watch from the revision after it, resumed (or read again) when the
 * watch breaks. The dashboard never polls the keyspace. A burst of changes reaches `onChange`
 * as one batch, at the end of the turn that brought it.
 *
 * The caches are Maps in arrival order; beside them a `KeyTree` keeps the keys in key order with
 * per-prefix counts, so the Keys view pages through a level without sorting or scanning.
 */
import { type Cache, type CacheChange, cache } from '../../recipes/cache.js';
import type { Client, KeyValue } from '../index.js';
import type { Entry } from './model/entry.js';
import { type KeyLevel, KeyTree, keyLevel } from './model/key-tree.js';

export type MirroredEntry = Entry & { size: number; bytes: Buffer };

/** A change as it reached the mirror. */
export interface MirrorChange {
  type: 'put' | 'delete';
  key: string;
  version: bigint;
  revision: bigint;
}

const entryOf = (kv: KeyValue): MirroredEntry => ({
  key: kv.keyText(),
  value: kv.text(),
  createRevision: kv.createRevision,
  modRevision: kv.modRevision,
  version: kv.version,
  lease: kv.lease,
  size: kv.value.length,
  bytes: kv.value,
});

export class KeyspaceMirror {
  readonly #caches: Cache[];
  readonly #onChange: (changes: MirrorChange[]) => void;
  /** Every key of every cache, in order; kept in step with them as each change arrives. */
  #tree = new KeyTree();
  #pending: MirrorChange[] | undefined;

  constructor(client: Client, prefixes: string[], onChange: (changes: MirrorChange[]) => void) {
    this.#onChange = onChange;
    this.#caches = prefixes.map((p) => cache(client, p));
    for (const c of this.#caches) {
      c.on('change', (change) => {
        if (change.next) this.#tree.add(change.key);
        // Prefixes may overlap: a key goes when no copy holds it.
        else if (!this.#caches.some((o) => o.has(change.key))) this.#tree.delete(change.key);
        this.#queue(change);
      });
      // A watch that went down and came back: the page may show a re-read copy.
      c.on('stale', () => this.#queue(undefined));
    }
  }

  /** Reads every prefix and starts watching; rejects if a prefix cannot be read (permissions). */
  async start(): Promise<void> {
    try {
      await Promise.all(this.#caches.map((c) => c.ready()));
      // The initial loads come as no change: index what they read.
      this.#tree = new KeyTree(
        (function* (caches) {
          for (const c of caches) yield* c.keys();
        })(this.#caches),
      );
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The newest store revision any of the copies reflects. */
  get revision(): bigint {
    let newest = 0n;
    for (const c of this.#caches) if (c.revision > newest) newest = c.revision;
    return newest;
  }

  /** How many keys the copies hold. */
  get size(): number {
    return this.#tree.size;
  }

  /** The keys, in key order. */
  entries(): MirroredEntry[] {
    const all: MirroredEntry[] = [];
    for (const key of this.#tree.keys()) {
      const e = this.get(key);
      if (e) all.push(e);
    }
    return all;
  }

  /** One page of one '/'-level of the keys (see `keyLevel`). */
  level(prefix: string, after: string | undefined, limit: number): KeyLevel {
    return keyLevel(this.#tree, prefix, after, limit);
  }

  get(key: string): MirroredEntry | undefined {
    const kv = this.#kv(key);
    return kv && entryOf(kv);
  }

  close(): void {
    for (const c of this.#caches) c.close();
  }

  #kv(key: string): KeyValue | undefined {
    for (const c of this.#caches) {
      const kv = c.get(key);
      if (kv) return kv;
    }
    return undefined;
  }

  #queue(c: CacheChange | undefined): void {
    if (this.#pending === undefined) {
      this.#pending = [];
      queueMicrotask(() => {
        const changes = this.#pending ?? [];
        this.#pending = undefined;
        this.#onChange(changes);
      });
    }
    if (c) {
      const version = c.next?.version ?? 0n;
      this.#pending.push({ type: c.type, key: c.key, version, revision: c.revision });
    }
  }
}
