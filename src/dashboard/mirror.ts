/**
 * A live copy of some key ranges: one range per prefix, then one watch from the revision after
 * it, so no change falls between the two. If a watch fails (compaction, an endpoint gone) the
 * prefix is read again and watched anew. The dashboard never polls the keyspace.
 */
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
  readonly #client: Client;
  readonly #prefixes: string[];
  readonly #entries = new Map<string, MirroredEntry>();
  readonly #abort = new AbortController();
  readonly #onChange: (changes: MirrorChange[]) => void;
  #revision = 0n;

  constructor(client: Client, prefixes: string[], onChange: (changes: MirrorChange[]) => void) {
    this.#client = client;
    this.#prefixes = prefixes;
    this.#onChange = onChange;
  }

  /** Reads every prefix and starts watching; rejects if a prefix cannot be read (permissions). */
  async start(): Promise<void> {
    const starts = await Promise.all(this.#prefixes.map((p) => this.#load(p)));
    this.#prefixes.forEach((p, i) => void this.#follow(p, starts[i]!));
  }

  get revision(): bigint {
    return this.#revision;
  }

  /** The keys, in key order. */
  entries(): MirroredEntry[] {
    return [...this.#entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(key: string): MirroredEntry | undefined {
    return this.#entries.get(key);
  }

  close(): void {
    this.#abort.abort();
  }

  /** Replaces the prefix's keys with a fresh read; resolves with the revision to watch from. */
  async #load(prefix: string): Promise<bigint> {
    const r = await this.#client.range({ prefix }, { signal: this.#abort.signal });
    for (const k of [...this.#entries.keys()]) if (k.startsWith(prefix)) this.#entries.delete(k);
    for (const kv of r.kvs) this.#entries.set(kv.keyText(), entryOf(kv));
    if (r.header.revision > this.#revision) this.#revision = r.header.revision;
    return r.header.revision + 1n;
  }

  async #follow(prefix: string, from: bigint): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        const watch = await this.#client.watch({ prefix }, { startRevision: from, signal });
        for await (const b of watch.batches()) {
          if (b.header.revision > this.#revision) this.#revision = b.header.revision;
          if (b.events.length === 0) continue;
          const changes: MirrorChange[] = [];
          for (const e of b.events) {
            const key = e.kv.keyText();
            if (e.type === 'put') this.#entries.set(key, entryOf(e.kv));
            else this.#entries.delete(key);
            changes.push({ type: e.type, key, version: e.kv.version, revision: e.revision });
            from = e.revision + 1n;
          }
          this.#onChange(changes);
        }
      } catch {
        if (signal.aborted) return;
      }
      // The watch ended or failed: read the prefix again and resume from there.
      await new Promise((r) => setTimeout(r, 500).unref());
      try {
        from = await this.#load(prefix);
        this.#onChange([]);
      } catch {
        // Unreachable for now: try again after the pause.
      }
    }
  }
}
