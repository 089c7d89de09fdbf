/**
 * The watch stream's queue: `length` counts what was pushed since the reader last ran dry (the
 * measure WATCH_STREAM_MAX_PENDING is set against), an item can be replaced only until the
 * reader is handed it, and close() ends the reading after what is queued.
 */
import { WatchQueue } from '../../src/server/api/watch-queue.js';

test('length is what was pushed since the reader last took everything', async () => {
  const q = new WatchQueue<string>();
  const it = q[Symbol.asyncIterator]();
  q.push('a');
  q.push('b');
  expect(q.length).toBe(2);
  expect(await it.next()).toEqual({ value: 'a', done: false });
  // The reader took both when it ran dry; it has been handed one.
  expect(q.length).toBe(0);
  q.push('c');
  expect(q.length).toBe(1);
  expect((await it.next()).value).toBe('b');
  expect((await it.next()).value).toBe('c');
  expect(q.length).toBe(0);
});

test('an item is replaced only until the reader is handed it', async () => {
  const q = new WatchQueue<string>();
  const it = q[Symbol.asyncIterator]();
  const a = q.push('a');
  const b = q.push('b');
  q.replace(a, 'A');
  expect((await it.next()).value).toBe('A');
  expect(q.waiting(a)).toBeUndefined();
  expect(() => q.replace(a, 'x')).toThrow(RangeError);
  expect(q.waiting(b)).toBe('b');
  q.replace(b, 'B');
  expect((await it.next()).value).toBe('B');
  // Positions keep counting after the queue drops what went out.
  const c = q.push('c');
  expect(c).toBe(2);
  expect(q.waiting(c)).toBe('c');
});

test('a waiting reader gets the next push; close ends the reading after what is queued', async () => {
  const q = new WatchQueue<string>();
  const it = q[Symbol.asyncIterator]();
  const next = it.next();
  q.push('a');
  expect(await next).toEqual({ value: 'a', done: false });
  q.push('b');
  q.close();
  expect(q.push('c')).toBe(-1);
  expect((await it.next()).value).toBe('b');
  expect((await it.next()).done).toBe(true);
  const waiting = new WatchQueue<string>();
  const pending = waiting[Symbol.asyncIterator]().next();
  waiting.close();
  expect((await pending).done).toBe(true);
});
