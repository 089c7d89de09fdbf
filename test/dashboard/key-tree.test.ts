/**
 * The Keys view's paging (src/dashboard/model/key-tree.ts): one '/'-level of the keys at a time,
 * children in key order with their counts, paged by the last child shown. Checked against a
 * plain scan of every key, and by walking whole trees page by page.
 */
import { KeyTree, keyLevel } from '../../src/dashboard/model/key-tree.js';

/** The whole level of `prefix` by a scan of every key: what each page must add up to. */
function scan(keys: string[], prefix: string) {
  const children = new Map<string, { key: boolean; count: number }>();
  for (const k of [...keys].sort()) {
    if (!k.startsWith(prefix) || (k === prefix && prefix !== '')) continue;
    const slash = k.indexOf('/', prefix.length);
    const name = slash === -1 ? k : k.slice(0, slash + 1);
    const c = children.get(name) ?? { key: false, count: 0 };
    if (k === name) c.key = true;
    else c.count++;
    children.set(name, c);
  }
  return [...children.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Every page of a level, `limit` children at a time. */
function pages(tree: KeyTree, prefix: string, limit: number) {
  const out = [];
  let after: string | undefined;
  for (;;) {
    const page = keyLevel(tree, prefix, after, limit);
    out.push(page);
    if (!page.more) return out;
    after = page.last;
  }
}

const KEYS = [
  'a',
  'a/',
  'a/1',
  'a/2',
  'a/b/',
  'a/b/c',
  'a/b/d/e',
  'a//x',
  'b/x',
  'b0',
  'config/app',
  'config/feature',
  'z',
];

test('a level lists its child prefixes with counts and its own keys, in key order', () => {
  const tree = new KeyTree(KEYS);
  expect(keyLevel(tree, '', undefined, 100)).toEqual({
    prefixes: [
      ['a/', 6],
      ['b/', 1],
      ['config/', 2],
    ],
    keys: ['a', 'a/', 'b0', 'z'],
    more: false,
    last: 'z',
  });
  expect(keyLevel(tree, 'a/', undefined, 100)).toEqual({
    prefixes: [
      ['a//', 1],
      ['a/b/', 2],
    ],
    keys: ['a/1', 'a/2', 'a/b/'],
    more: false,
    last: 'a/b/',
  });
  expect(keyLevel(tree, 'a/b/', undefined, 100)).toMatchObject({
    prefixes: [['a/b/d/', 1]],
    keys: ['a/b/c'],
  });
  expect(keyLevel(tree, 'nothing/', undefined, 100)).toEqual({
    prefixes: [],
    keys: [],
    more: false,
    last: undefined,
  });
});

test('pages follow the last child shown, and say when more follow', () => {
  const tree = new KeyTree(KEYS);
  const first = keyLevel(tree, '', undefined, 2);
  expect(first).toEqual({ prefixes: [['a/', 6]], keys: ['a', 'a/'], more: true, last: 'a/' });
  const second = keyLevel(tree, '', first.last, 2);
  expect(second).toEqual({ prefixes: [['b/', 1]], keys: ['b0'], more: true, last: 'b0' });
  expect(keyLevel(tree, '', second.last, 2)).toEqual({
    prefixes: [['config/', 2]],
    keys: ['z'],
    more: false,
    last: 'z',
  });
  // A page that ends exactly at the level's end says so.
  expect(keyLevel(tree, 'config/', undefined, 2)).toMatchObject({ more: false, last: 'config/feature' });
  expect(keyLevel(tree, 'config/', 'config/feature', 2)).toMatchObject({ keys: [], more: false });
});

test('counts and levels follow adds and deletes', () => {
  const tree = new KeyTree(KEYS);
  tree.add('a/b/new');
  tree.add('a/b/new');
  expect(tree.size).toBe(KEYS.length + 1);
  expect(tree.count('a/')).toBe(7);
  expect(tree.count('a/b/')).toBe(3);
  for (const k of ['a/b/', 'a/b/c', 'a/b/d/e', 'a/b/new']) tree.delete(k);
  tree.delete('not/there');
  expect(tree.count('a/b/')).toBe(0);
  expect(tree.count('a/b/d/')).toBe(0);
  expect(keyLevel(tree, 'a/', undefined, 10)).toMatchObject({ prefixes: [['a//', 1]], keys: ['a/1', 'a/2'] });
});

test('a prefix that is not at a slash lists what starts with it', () => {
  const tree = new KeyTree(['conf', 'config/app', 'config/x/y', 'confx']);
  expect(keyLevel(tree, 'conf', undefined, 10)).toEqual({
    prefixes: [['config/', 2]],
    keys: ['confx'],
    more: false,
    last: 'confx',
  });
});

describe('paging a random tree visits every key exactly once, as a scan sees the levels', () => {
  // A small deterministic generator: the test is the same on every run.
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const parts = ['a', 'b', 'c', '', 'ab', 'é', '\u{1F600}', 'a-b', 'a.b'];
  const keys = new Set<string>();
  while (keys.size < 600) {
    const depth = 1 + rand(4);
    const segs = Array.from({ length: depth }, () => parts[rand(parts.length)]!);
    keys.add(segs.join('/') + (rand(5) === 0 ? '/' : ''));
  }
  const all = [...keys].filter((k) => k !== '');

  test.each([1, 2, 3, 7, 50, 1000])('%i children a page', (limit) => {
    const tree = new KeyTree(all);
    const visited: string[] = [];
    const walk = (prefix: string) => {
      const ps = pages(tree, prefix, limit);
      const prefixes = ps.flatMap((p) => p.prefixes);
      const leaves = ps.flatMap((p) => p.keys);
      const expected = scan(all, prefix);
      expect(prefixes).toEqual(expected.filter(([, c]) => c.count > 0).map(([n, c]) => [n, c.count]));
      expect(leaves).toEqual(expected.filter(([, c]) => c.key).map(([n]) => n));
      for (const p of ps.slice(0, -1))
        expect(p.prefixes.length + p.keys.length).toBeGreaterThanOrEqual(limit);
      visited.push(...leaves);
      for (const [p, n] of prefixes) {
        const before = visited.length;
        walk(p);
        expect(visited.length - before).toBe(n);
      }
    };
    walk('');
    expect(visited.length).toBe(all.length);
    expect(new Set(visited).size).toBe(all.length);
  });
});
