import { INLINE_WRITE_MAX_BYTES, InlineWrites } from '../../src/storage/wal/inline-writes.js';

/** Each row: the write times seen so far (ms), then whether the next 256 B batch goes inline. */
const cases: [string, number[], boolean][] = [
  ['a new WAL writes inline', [], true],
  ['fast writes stay inline', [0.13, 0.2, 0.15, 0.14], true],
  ['one slow write (a journal commit) sends the next batch to the threadpool', [0.13, 0.13, 12], false],
  ['the threadpool is kept while the average is still high', [0.13, 12, 0.2, 0.2], false],
  [
    'a few fast writes after it bring inline writes back',
    [0.13, 12, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2],
    true,
  ],
  ['a disk that is slow all the time stays on the threadpool', Array(50).fill(1.5), false],
];

test.each(cases)('%s', (_name, times, inline) => {
  const w = new InlineWrites();
  for (const t of times) w.took(t);
  expect(w.inline(256)).toBe(inline);
});

test('large batches always go to the threadpool', () => {
  const w = new InlineWrites();
  expect(w.inline(INLINE_WRITE_MAX_BYTES)).toBe(true);
  expect(w.inline(INLINE_WRITE_MAX_BYTES + 1)).toBe(false);
});

test('a limit of 0 never writes inline', () => {
  expect(new InlineWrites(0).inline(1)).toBe(false);
  expect(() => new InlineWrites(-1)).toThrow(RangeError);
  expect(() => new InlineWrites(Number.NaN)).toThrow(RangeError);
});
