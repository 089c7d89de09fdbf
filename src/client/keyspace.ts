/**
 * A keyspace maps the keys and ranges a user writes to the bytes on the wire, and back. The
 * root keyspace is the identity; `client.namespace('app/')` makes one that prefixes every key
 * and clamps every range to the prefix, like etcd's `clientv3/namespace`.
 */
import { asBuffer, concat, type Key, prefixEnd, startsWith, toBuffer, ZERO } from './bytes.js';

/**
 * Which keys a request covers:
 * - a key: that key alone;
 * - `{ prefix }`: every key starting with it (`{ prefix: '' }` is every key);
 * - `{ fromKey }`: every key `>=` it;
 * - `{ key, end }`: the half-open interval `[key, end)`.
 */
export type KeyRange =
  | Key
  | {
      /** Every key starting with these bytes. */
      prefix: Key;
    }
  | {
      /** Every key from this one on. */
      fromKey: Key;
    }
  | {
      /** The first key of the range. */
      key: Key;
      /** The end of the range, excluded (`'\0'`: the end of the keyspace; absent: `key` alone). */
      end?: Key;
    };

export interface WireRange {
  key: Buffer;
  rangeEnd: Buffer;
}

export class Keyspace {
  readonly prefix: Buffer;
  constructor(prefix: Buffer = toBuffer(undefined)) {
    this.prefix = prefix;
  }

  child(prefix: Key): Keyspace {
    return new Keyspace(concat(this.prefix, toBuffer(prefix)));
  }

  key(k: Key): Buffer {
    return concat(this.prefix, toBuffer(k));
  }

  /** The end of this keyspace: `"\0"` (end of all keys) for the root. */
  #end(): Buffer {
    return this.prefix.length === 0 ? ZERO : prefixEnd(this.prefix);
  }

  range(r: KeyRange): WireRange {
    if (typeof r === 'string' || r instanceof Uint8Array)
      return { key: this.key(r), rangeEnd: toBuffer(undefined) };
    if ('prefix' in r) {
      const key = this.key(r.prefix);
      // An empty prefix at the root is "every key": etcd spells that ["\0", "\0").
      if (key.length === 0) return { key: ZERO, rangeEnd: ZERO };
      return { key, rangeEnd: prefixEnd(key) };
    }
    if ('fromKey' in r) {
      const key = this.key(r.fromKey);
      return { key: key.length === 0 ? ZERO : key, rangeEnd: this.#end() };
    }
    if (r.end === undefined) return { key: this.key(r.key), rangeEnd: toBuffer(undefined) };
    const end = toBuffer(r.end);
    // An empty end means "just the key" (no range_end on the wire), as at the root and in etcd's
    // clientv3/namespace; prefixing it would send range_end = prefix, an empty range.
    if (end.length === 0) return { key: this.key(r.key), rangeEnd: toBuffer(undefined) };
    // A user's "\0" end means "to the end of the keyspace", which in a namespace is its prefix end.
    if (end.length === 1 && end[0] === 0) return { key: this.key(r.key), rangeEnd: this.#end() };
    return { key: this.key(r.key), rangeEnd: this.key(end) };
  }

  /** Strips the prefix from a key the server returned. */
  strip(k: Uint8Array): Buffer {
    if (this.prefix.length === 0 || !startsWith(k, this.prefix)) return asBuffer(k);
    return asBuffer(k.subarray(this.prefix.length));
  }
}

export const ROOT = new Keyspace();
