import { AsyncQueue } from '../../src/client/async-queue.js';

describe('AsyncQueue', () => {
  test('delivers pushed items in order, to a waiting and a late consumer', async () => {
    const q = new AsyncQueue<number>();
    const first = q.next();
    q.push(1);
    q.push(2);
    q.push(3);
    q.end();
    expect(await first).toEqual({ value: 1, done: false });
    const rest: number[] = [];
    for await (const x of q) rest.push(x);
    expect(rest).toEqual([2, 3]);
  });
  test('fail() throws after draining', async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.fail(new Error('boom'));
    expect(await q.next()).toEqual({ value: 1, done: false });
    await expect(q.next()).rejects.toThrow('boom');
  });
  test('a waiting consumer is woken by end()', async () => {
    const q = new AsyncQueue<number>();
    const p = q.next();
    q.end();
    expect(await p).toEqual({ value: undefined, done: true });
    q.push(5); // ignored after end
    expect(q.size).toBe(0);
  });
  test('a long-lived queue compacts its storage', async () => {
    const q = new AsyncQueue<number>();
    for (let i = 0; i < 5000; i++) q.push(i);
    for (let i = 0; i < 4000; i++) expect((await q.next()).value).toBe(i);
    expect(q.size).toBe(1000);
    expect((await q.next()).value).toBe(4000);
  });
});
