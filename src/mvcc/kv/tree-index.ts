/**
 * The key index: keys in bytewise order, each with its revisions. A B+ tree (sorted-btree) over
 * latin1 strings gives ordered iteration for ranges and an O(1) copy-on-write clone for
 * snapshots; a Map beside it serves point lookups, which dominate (every put, every single-key
 * range) and are ~20x faster in a Map than down the tree (bench/mvcc.ts measures both). An
 * overwrite of an existing key only appends to its revision array and never touches either.
 */
import BTreeModule from 'sorted-btree';
import type { Revs } from './key-index.js';

type BTreeClass = typeof import('sorted-btree').default;
type Tree = import('sorted-btree').default<string, Revs>;
// sorted-btree ships CommonJS with `exports.default`: Node's ESM loader hands us the exports
// object, a CommonJS transpiler the class itself.
const BTree: BTreeClass =
  (BTreeModule as unknown as { default?: BTreeClass }).default ?? (BTreeModule as unknown as BTreeClass);

/** Greater than every latin1 string: the upper bound of an open-ended range. */
export const KEY_SPACE_END = '\u0100';

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A point-in-time, read-only view of the index in key order (what a snapshot walks). */
export interface OrderedView {
  entries(): IterableIterator<[string, Revs]>;
}

export class TreeIndex {
  readonly #tree: Tree = new BTree<string, Revs>(undefined, compareKeys);
  /** Same keys and the same arrays as #tree. */
  readonly #map = new Map<string, Revs>();

  get size(): number {
    return this.#map.size;
  }

  get(key: string): Revs | undefined {
    return this.#map.get(key);
  }

  /** Adds a key, or replaces its array (compaction does, so that clones keep the old one). */
  set(key: string, revs: Revs): void {
    this.#map.set(key, revs);
    this.#tree.set(key, revs, true);
  }

  delete(key: string): void {
    this.#map.delete(key);
    this.#tree.delete(key);
  }

  /**
   * Visits keys in [key, end) in order (end = KEY_SPACE_END for "to the end"); `visit` returns
   * true to stop early.
   */
  range(key: string, end: string, visit: (key: string, revs: Revs) => boolean | undefined): void {
    if (end <= key) return;
    this.#tree.forRange(key, end, false, (k, v) => (visit(k, v) ? { break: true } : undefined));
  }

  /** All keys in order. */
  entries(): IterableIterator<[string, Revs]> {
    return this.#tree.entries();
  }

  /**
   * An O(1) copy-on-write view of the keys as they are now. Arrays are shared: appends made
   * later show through (filter them by revision), replacements and deletions do not.
   */
  snapshotView(): OrderedView {
    const tree = this.#tree.clone();
    return { entries: () => tree.entries() };
  }
}
