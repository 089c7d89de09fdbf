/**
 * `npm run bench -- --rounds N`: each target's rounds become one result of medians, and the ratio
 * of two targets is the median of the rounds' own ratios (two runs back to back drift together on
 * a shared machine; the medians of each column need not come from the same round).
 */
import type { Measured } from '../../bench/api-load.js';
import { type Column, caseJson, table } from '../../bench/api-report.js';
import { combine, median, type Outcome, roundRatios } from '../../bench/api-rounds.js';

const m = (rate: number, over: Partial<Measured> = {}): Measured => ({
  rate,
  p50: 1000 / rate,
  p99: 4000 / rate,
  count: rate,
  errors: 0,
  firstError: undefined,
  ...over,
});

test('median: the middle value, or the mean of the middle two', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(median([])).toBeNaN();
});

test('combine: each figure is its own median; errors and leader changes add up', () => {
  const c = combine([
    m(100, { serverCpu: 0.5, errors: 1, firstError: 'boom', leaderChanges: 1 }),
    m(300, { serverCpu: 0.9 }),
    m(200, { serverCpu: 0.7, leaderChanges: 1 }),
  ]) as Measured;
  expect(c.rate).toBe(200);
  expect(c.p50).toBe(5);
  expect(c.serverCpu).toBe(0.7);
  expect(c.count).toBe(600);
  expect(c.errors).toBe(1);
  expect(c.firstError).toBe('boom');
  expect(c.leaderChanges).toBe(2);
  expect(c.note).toBeUndefined();
});

test('combine: failed rounds are left out and counted; all failed is the first failure', () => {
  const c = combine([new Error('down'), m(100), m(300)]) as Measured;
  expect(c.rate).toBe(200);
  expect(c.note).toBe('1 of 3 rounds failed');
  const failed = combine([new Error('first'), new Error('second')]);
  expect(failed).toBeInstanceOf(Error);
  expect((failed as Error).message).toBe('first');
});

test('combine: leader changes stay absent when no round could read them', () => {
  expect(combine([m(100), m(200)])).not.toHaveProperty('leaderChanges');
});

test('caseJson: the result, and each round (a failed one as its message) with --rounds', () => {
  expect(caseJson(new Error('down'))).toEqual({ error: 'down' });
  expect(caseJson(m(100))).toEqual(m(100));
  expect(caseJson(m(150), [m(100), new Error('down'), m(200)])).toEqual({
    ...m(150),
    rounds: [m(100), { error: 'down' }, m(200)],
  });
});

test('combine: one round is that round, unchanged', () => {
  const one = m(123, { note: '22% of txns swapped' });
  expect(combine([one])).toBe(one);
});

test('roundRatios: round by round, skipping rounds where either side failed', () => {
  expect(roundRatios([m(100), new Error('x'), m(200)], [m(50), m(10), m(300)])).toEqual([0.5, 1.5]);
});

test('the table gives the median of the rounds’ ratios and lists each round’s', () => {
  // Concord's median rate (200) over etcd's (200) would say 1.00; round by round it is 0.5,
  // 0.67 and 2: the machine sped up between the rounds, not Concord.
  const etcd: Outcome[] = [m(100), m(300), m(200)];
  const concord: Outcome[] = [m(50), m(200), m(400)];
  const col = (label: string, rs: Outcome[]): Column => ({
    label,
    endpoints: [],
    results: new Map([['put, 1 client', combine(rs)]]),
    rounds: new Map([['put, 1 client', rs]]),
  });
  const out = table(['put, 1 client'], [col('etcd', etcd), col('concord', concord)]);
  const row = out.split('\n').find((l) => l.startsWith('put, 1 client'))!;
  expect(row.trim().endsWith('0.67')).toBe(true);
  expect(out).toContain('ratio: concord ops/s / etcd ops/s, the median of the rounds');
  expect(out).toContain('  put, 1 client: 0.50, 0.67, 2.00');
});

test('without rounds the table keeps the plain ratio and says nothing of rounds', () => {
  const col = (label: string, rate: number): Column => ({
    label,
    endpoints: [],
    results: new Map([['put, 1 client', m(rate)]]),
  });
  const out = table(['put, 1 client'], [col('etcd', 400), col('concord', 300)]);
  expect(
    out
      .split('\n')
      .find((l) => l.startsWith('put, 1 client'))!
      .trim()
      .endsWith('0.75'),
  ).toBe(true);
  expect(out).not.toContain('round');
});
