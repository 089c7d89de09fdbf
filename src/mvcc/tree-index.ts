/**
 * The key index: keys in bytewise order, each with its revisions. A B+ tree (sorted-btree) over
 * latin1 strings: ordered iteration for ranges, O(1) copy-on-write clone for snapshots.
 * (Measured against a sorted array + binary search and a Map + lazy sort: see bench/mvcc.ts.)
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

export class TreeIndex {
  #tree: Tree;

  constructor(tree?: Tree) {
    this.#tree = tree ?? new BTree<string, Revs>(undefined, compareKeys);
  }

  get size(): number {
    return this.#tree.size;
  }

  get(key: string): Revs | undefined {
    return this.#tree.get(key);
  }

  set(key: string, revs: Revs): void {
    this.#tree.set(key, revs, true);
  }

  delete(key: string): void {
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

  /** A copy sharing structure with this one; later changes to either do not affect the other. */
  clone(): TreeIndex {
    return new TreeIndex(this.#tree.clone());
  }
}
