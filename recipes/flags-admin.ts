/**
 * Writing feature flags: `flagsAdmin()` validates each definition before it stores it, and lists
 * stored documents with the reason any of them is not a valid definition.
 */
import type { Client, KeyValue, Namespace } from '../src/core.js';
import {
  checkFlagName,
  DEFAULT_PREFIX,
  type FlagDefinition,
  type JsonValue,
  validateFlag,
} from './flags-definition.js';
import { compile } from './flags-evaluation.js';

type KV = Client | Namespace;

/**
 * A stored flag document as `flagsAdmin()` reads it: valid or not, so that a broken one can be
 * found and fixed.
 */
export interface FlagEntry {
  /** The flag's name (its key without the prefix). */
  name: string;
  /** The definition, when it is valid. */
  definition: FlagDefinition | undefined;
  /** Why the stored document is not a valid definition. */
  error: string | undefined;
  /** The document's mod revision. */
  revision: bigint;
}

/**
 * Writes and lists feature flags; get one with `flagsAdmin()`. Every definition is validated
 * before it is stored, so readers never see a malformed flag written through it.
 *
 * @example
 * ```ts
 * import { flagsAdmin } from 'concord-kv/recipes';
 * const admin = flagsAdmin(client);
 * await admin.set('checkout-theme', { type: 'string', value: 'light' });
 * for (const e of await admin.list()) if (e.error) console.warn(e.name, e.error);
 * ```
 */
export interface FlagsAdmin {
  /** Validates `def` and stores it (throws `InvalidFlagError` listing every problem). Resolves with the revision. */
  set<T extends JsonValue>(
    name: string,
    def: FlagDefinition<T>,
    opts?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<bigint>;
  /** One flag's stored document, or undefined when there is none. */
  get(name: string, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<FlagEntry | undefined>;
  /** Resolves true if the flag existed. */
  delete(name: string, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<boolean>;
  /** Every stored flag document under the prefix, in name order. */
  list(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<FlagEntry[]>;
}

function entryOf(prefix: string, kv: KeyValue): FlagEntry {
  const e = compile(kv);
  return {
    name: kv.keyText().slice(prefix.length),
    definition: e.ok ? e.flag.def : undefined,
    error: e.ok ? undefined : e.error,
    revision: kv.modRevision,
  };
}

/** Writes flags under `prefix` (default `flags/`). */
export function flagsAdmin(client: KV, opts: { prefix?: string } = {}): FlagsAdmin {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  return {
    async set(name, def, o) {
      validateFlag(name, def);
      const r = await client.put(`${prefix}${name}`, JSON.stringify(def), o);
      return r.header.revision;
    },
    async get(name, o) {
      checkFlagName(name);
      const kv = await client.get(`${prefix}${name}`, o);
      return kv ? entryOf(prefix, kv) : undefined;
    },
    async delete(name, o) {
      checkFlagName(name);
      return (await client.delete(`${prefix}${name}`, o)).deleted > 0n;
    },
    async list(o) {
      const r = await client.range({ prefix }, { ...o, sort: { target: 'key', order: 'ascend' } });
      return r.kvs.map((kv) => entryOf(prefix, kv));
    },
  };
}
