/**
 * The Keys view's prefix tree, one '/'-level at a time and one page at a time, without ever
 * walking the whole keyspace: the keys in order (a B+ tree: sorted-btree, already the mvcc key
 * index's) and, beside them, how many keys lie under each prefix. A page of n children costs n
 * seeks in the tree, whatever the number of keys below them.
 *
 * The levels: under prefix p, a key k is a leaf when nothing but its last character can be a '/'
 * after p; otherwise it lies under the child prefix k up to its first '/' after p. A key that
 * ends at a '/' (`a/`) is a leaf of its parent level only, so each key is on exactly one level.
 */
import BTreeModule from 'sorted-btree';

type BTreeClass = typeof import('sorted-btree').default;
// sorted-btree ships CommonJS with `exports.default`: Node's ESM loader hands us the exports
// object, a CommonJS transpiler the class itself.
const BTree: BTreeClass =
  (BTreeModule as unknown as { default?: BTreeClass }).default ?? (BTreeModule as unknown as BTreeClass);

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The prefixes a key is counted under: each of its '/'-ends but the key itself. */
function* prefixesOf(key: string): Generator<string> {
  for (let i = key.indexOf('/'); i !== -1 && i < key.length - 1; i = key.indexOf('/', i + 1))
    yield key.slice(0, i + 1);
}

/** The least string after every string that starts with `prefix` ('/' + 1 is '0'). */
const pastPrefix = (prefix: string): string =>
  prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

/** A set of keys in order, with the number of keys under each prefix. */
export class KeyTree {
  readonly #keys = new BTree<string, undefined>(undefined, compareKeys);
  readonly #counts = new Map<string, number>();

  constructor(keys: Iterable<string> = []) {
    for (const k of keys) this.add(k);
  }

  get size(): number {
    return this.#keys.size;
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  add(key: string): void {
    if (!this.#keys.set(key, undefined, false)) return;
    for (const p of prefixesOf(key)) this.#counts.set(p, (this.#counts.get(p) ?? 0) + 1);
  }

  delete(key: string): void {
    if (!this.#keys.delete(key)) return;
    for (const p of prefixesOf(key)) {
      const n = (this.#counts.get(p) ?? 1) - 1;
      if (n === 0) this.#counts.delete(p);
      else this.#counts.set(p, n);
    }
  }

  /** How many keys lie under `prefix` (a '/'-ended prefix), not counting the key `prefix` itself. */
  count(prefix: string): number {
    return this.#counts.get(prefix) ?? 0;
  }

  /** The first key at or after `from`, if any. */
  seek(from: string): string | undefined {
    return this.#keys.getPairOrNextHigher(from)?.[0];
  }

  /** Every key, in order. */
  keys(): IterableIterator<string> {
    return this.#keys.keys();
  }
}

/** One page of a level: its child prefixes with their key counts, and its keys. */
export interface KeyLevel {
  prefixes: [prefix: string, count: number][];
  keys: string[];
  /** Whether the level has children after this page (ask again with `after` = `last`). */
  more: boolean;
  /** The page's last child (a prefix or a key): the `after` of the next page. */
  last: string | undefined;
}

/**
 * The children of `prefix` after the child `after` (a prefix or a key shown last; '' or
 * undefined: from the first), at most `limit` of them, in key order. A key that is also the name
 * of a child prefix (`a/` beside `a/b`) comes with that prefix, so a page may hold one more.
 */
export function keyLevel(tree: KeyTree, prefix: string, after: string | undefined, limit: number): KeyLevel {
  const out: KeyLevel = { prefixes: [], keys: [], more: false, last: undefined };
  const end = prefix === '' ? undefined : pastPrefix(prefix);
  // Where to look next: past `after` and everything under it, or the level's first child.
  let from: string;
  if (after === undefined || after === '' || after < prefix) from = prefix;
  else if (after.endsWith('/') && after.length > prefix.length) from = pastPrefix(after);
  else from = `${after}\0`;
  // The key `prefix` itself belongs to its parent's level.
  if (from === prefix && prefix !== '') from = `${prefix}\0`;
  for (let n = 0; ; n++) {
    const key = tree.seek(from);
    if (key === undefined || (end !== undefined && key >= end)) return out;
    if (n === Math.max(1, limit)) {
      out.more = true;
      return out;
    }
    const slash = key.indexOf('/', prefix.length);
    if (slash === -1) {
      out.keys.push(key);
      out.last = key;
      from = `${key}\0`;
      continue;
    }
    const child = key.slice(0, slash + 1);
    if (key === child) out.keys.push(key);
    if (tree.count(child) > 0) out.prefixes.push([child, tree.count(child)]);
    out.last = child;
    from = pastPrefix(child);
  }
}
