import { backoffCeiling, fullJitter } from '../../src/backoff.js';
import { retryDelayMs } from '../../src/client/connections.js';
import { streamBackoffMs } from '../../src/client/stream-loop.js';

const O = { baseMs: 50, capMs: 1000 };

test('the ceiling doubles from baseMs per attempt and stops at capMs', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 60, 5000].map((a) => backoffCeiling(a, O))).toEqual([
    50, 100, 200, 400, 800, 1000, 1000, 1000, 1000,
  ]);
});

test('a draw stays within [0, ceiling) at both ends of random()', () => {
  for (const a of [0, 1, 3, 10, 1e6]) {
    expect(fullJitter(a, O, () => 0)).toBe(0);
    const top = fullJitter(a, O, () => 1 - Number.EPSILON);
    expect(top).toBeLessThan(backoffCeiling(a, O));
    expect(top).toBeGreaterThan(backoffCeiling(a, O) * 0.999);
  }
});

test('draws spread over the whole window, uniformly', () => {
  const n = 4000;
  const ceiling = backoffCeiling(8, O);
  const xs = Array.from({ length: n }, () => fullJitter(8, O));
  for (const x of xs) {
    expect(x).toBeGreaterThanOrEqual(0);
    expect(x).toBeLessThan(ceiling);
  }
  // Every tenth of the window gets about a tenth of the draws (a fixed or clustered schedule
  // fills one or two); bounds are ~8 standard deviations wide, so a fair draw never misses.
  const bins = new Array(10).fill(0);
  for (const x of xs) bins[Math.floor((x / ceiling) * 10)]++;
  for (const b of bins) {
    expect(b).toBeGreaterThan(n / 10 - 160);
    expect(b).toBeLessThan(n / 10 + 160);
  }
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  expect(Math.abs(mean - ceiling / 2)).toBeLessThan(ceiling * 0.05);
});

test("the client's retry and stream schedules draw from the shared back-off", () => {
  // Three endpoints: two quick hops under 10 ms, then 100 ms doubling to a 2 s ceiling.
  const top = () => 1 - Number.EPSILON;
  expect([1, 2].map((a) => retryDelayMs(a, 3, top)).every((d) => d > 9.9 && d < 10)).toBe(true);
  expect(retryDelayMs(3, 3, top)).toBeCloseTo(100);
  expect(retryDelayMs(4, 3, top)).toBeCloseTo(200);
  expect(retryDelayMs(40, 3, top)).toBeCloseTo(2000);
  expect(retryDelayMs(40, 3, () => 0)).toBe(0);
  expect(streamBackoffMs(1, top)).toBeCloseTo(100);
  expect(streamBackoffMs(30, top)).toBeCloseTo(2000);
  expect(streamBackoffMs(30, () => 0.5)).toBe(1000);
});
