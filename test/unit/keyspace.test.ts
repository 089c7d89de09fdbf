import { prefixEnd, toBuffer } from '../../src/client/bytes.js';
import { Keyspace, ROOT } from '../../src/client/keyspace.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const hex = (x: Buffer) => x.toString('hex');

describe('prefixEnd (etcd GetPrefixRangeEnd)', () => {
  test.each([
    ['a', 'b'],
    ['a\xff', 'b'],
    ['a\xff\xff', 'b'],
    ['ab', 'ac'],
    ['\xff', '\0'],
    ['\xff\xff', '\0'],
    ['', '\0'],
  ])('%j -> %j', (p, e) => {
    expect(hex(prefixEnd(b(p)))).toBe(hex(b(e)));
  });

  test('does not modify its argument', () => {
    const p = b('az');
    prefixEnd(p);
    expect(p.toString()).toBe('az');
  });
});

describe('root keyspace', () => {
  test('single key has an empty range end', () => {
    expect(ROOT.range('k')).toEqual({ key: b('k'), rangeEnd: Buffer.alloc(0) });
  });
  test('prefix', () => {
    expect(ROOT.range({ prefix: 'a/' })).toEqual({ key: b('a/'), rangeEnd: b('a0') });
  });
  test('empty prefix is every key ["\\0", "\\0")', () => {
    expect(ROOT.range({ prefix: '' })).toEqual({ key: b('\0'), rangeEnd: b('\0') });
  });
  test('fromKey ends at "\\0"', () => {
    expect(ROOT.range({ fromKey: 'm' })).toEqual({ key: b('m'), rangeEnd: b('\0') });
  });
  test('explicit interval', () => {
    expect(ROOT.range({ key: 'a', end: 'c' })).toEqual({ key: b('a'), rangeEnd: b('c') });
  });
  test('bytes keys pass through', () => {
    const k = new Uint8Array([0, 255, 7]);
    expect(hex(ROOT.range(k).key)).toBe('00ff07');
    expect(hex(toBuffer(k))).toBe('00ff07');
  });
});

describe('namespaced keyspace', () => {
  const ns = new Keyspace(b('app/'));
  test('keys are prefixed and stripped', () => {
    expect(ns.key('x').toString()).toBe('app/x');
    expect(ns.strip(b('app/x')).toString()).toBe('x');
    expect(ns.strip(b('other')).toString()).toBe('other');
  });
  test('empty prefix covers exactly the namespace', () => {
    expect(ns.range({ prefix: '' })).toEqual({ key: b('app/'), rangeEnd: b('app0') });
  });
  test('fromKey stops at the namespace end', () => {
    expect(ns.range({ fromKey: 'm' })).toEqual({ key: b('app/m'), rangeEnd: b('app0') });
  });
  test('a "\\0" end means the namespace end', () => {
    expect(ns.range({ key: 'a', end: '\0' })).toEqual({ key: b('app/a'), rangeEnd: b('app0') });
  });
  test('nested namespaces concatenate', () => {
    expect(ns.child('x/').key('k').toString()).toBe('app/x/k');
  });
});
