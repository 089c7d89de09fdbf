/**
 * Random simulation runs inside `npm test`: SIM_SEEDS (default 300) seeds from a random start,
 * different every run. A failing seed is printed with its options and the command that replays
 * it (`npm run sim -- --seed N`). Seeds that once failed stay below as regressions.
 */
import { formatFailure, runSeed } from './run.js';

const COUNT = Number(process.env.SIM_SEEDS ?? 300);
const START =
  process.env.SIM_FROM !== undefined ? Number(process.env.SIM_FROM) : Math.floor(Math.random() * 2 ** 31);

/** Seeds that failed during development, with what broke. */
const REGRESSIONS: [number, string][] = [
  [7, 'snapshot index taken from firstIndex() after a compaction that kept entries'],
  [29, 'a duplicated forwarded proposal applied twice (state machine now deduplicates by command id)'],
  [53, 'a duplicated forwarded proposal applied twice'],
  [91, 'a duplicated forwarded proposal applied twice'],
  [
    1009886,
    'liveness: a removed member left running without PreVote kept deposing leaders (now stopped on commit)',
  ],
  [
    1662514235,
    'liveness: a learner catching up one entry per round trip took over the fixed bound while never stalling (the bound is now on progress)',
  ],
];

describe('simulation', () => {
  test(`${COUNT} random seeds from ${START}`, () => {
    const failures: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const r = runSeed((START + i) >>> 0);
      if (!r.ok) failures.push(formatFailure(r));
    }
    if (failures.length > 0) console.error(failures.join('\n\n'));
    expect(failures).toEqual([]);
  });

  test.each(REGRESSIONS)('regression seed %d (%s)', (seed) => {
    const r = runSeed(seed);
    expect(r.ok ? 'ok' : formatFailure(r)).toBe('ok');
  });

  test('a run replays exactly from its seed', () => {
    const a = runSeed(12345, { trace: true });
    const b = runSeed(12345, { trace: true });
    expect(a.stats).toEqual(b.stats);
    expect(a.trace).toEqual(b.trace);
    expect(a.stats.elections).toBeGreaterThan(0);
  });
});
