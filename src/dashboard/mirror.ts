/**
 * A live copy of some key ranges: one `cache()` (the recipes' prefix mirror) per prefix, so
 * each is one range and one watch from the revision after it, resumed (or read again) when the
 * watch breaks. The dashboard never polls the keyspace. A burst of changes reaches `onChange`
 * as one batch, at the end of the turn that brought it.
 */
import { type Cache, type CacheChange, cache } from '../../recipes/cache.js';
import type { Client, KeyValue } from '../index.js';
import type { Entry } from './model/entry.js';

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
  #pending: MirrorChange[] | undefined;

  constructor(client: Client, prefixes: string[], onChange: (changes: MirrorChange[]) => void) {
    this.#onChange = onChange;
    this.#caches = prefixes.map((p) => cache(client, p));
    for (const c of this.#caches) {
      c.on('change', (change) => this.#queue(change));
      // A watch that went down and came back: the page may show a re-read copy.
      c.on('stale', () => this.#queue(undefined));
    }
  }

  /** Reads every prefix and starts watching; rejects if a prefix cannot be read (permissions). */
  async start(): Promise<void> {
    try {
      await Promise.all(this.#caches.map((c) => c.ready()));
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

  /** The keys, in key order. */
  entries(): MirroredEntry[] {
    const all = new Map<string, MirroredEntry>();
    for (const c of this.#caches) for (const [key, kv] of c) all.set(key, entryOf(kv));
    return [...all.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(key: string): MirroredEntry | undefined {
    for (const c of this.#caches) {
      const kv = c.get(key);
      if (kv) return entryOf(kv);
    }
    return undefined;
  }

  close(): void {
    for (const c of this.#caches) c.close();
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
