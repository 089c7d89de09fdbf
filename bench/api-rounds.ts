/**
 * `npm run bench -- --rounds N`: each case runs N times on each target, the targets alternating
 * within a round, and the report takes medians. On a shared machine the speed drifts by tens of
 * percent within minutes, and two runs made back to back share that drift, so the ratio
 * reported is the median of the rounds' ratios, not the ratio of the medians.
 */
import type { Measured } from './api-load.js';

export type Outcome = Measured | Error;

const ok = (r: Outcome | undefined): r is Measured => r !== undefined && !(r instanceof Error);

/** The median of numbers (the mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function medianOf(rs: Measured[], pick: (m: Measured) => number | undefined): number | undefined {
  const xs = rs.map(pick).filter((x): x is number => x !== undefined);
  return xs.length === 0 ? undefined : median(xs);
}

/**
 * One case's rounds as one result: the median of each figure over the rounds that ran, errors
 * added up. A case that failed in every round is its first failure.
 */
export function combine(rounds: readonly Outcome[]): Outcome {
  const good = rounds.filter(ok);
  if (good.length === 0) return rounds[0] ?? new Error('no round ran');
  if (good.length === 1 && rounds.length === 1) return good[0]!;
  const failed = rounds.length - good.length;
  const errors = good.reduce((n, m) => n + m.errors, 0);
  const firstError = good.find((m) => m.firstError)?.firstError;
  const m: Measured = {
    rate: median(good.map((r) => r.rate)),
    p50: median(good.map((r) => r.p50)),
    p99: median(good.map((r) => r.p99)),
    count: good.reduce((n, r) => n + r.count, 0),
    errors,
    firstError,
    note: [good.find((r) => r.note)?.note, failed > 0 ? `${failed} of ${rounds.length} rounds failed` : '']
      .filter(Boolean)
      .join('; '),
    clientCpu: medianOf(good, (r) => r.clientCpu),
    serverCpu: medianOf(good, (r) => r.serverCpu),
  };
  if (!m.note) delete m.note;
  // Absent where the members expose no counter, as in a single round.
  const changes = good.map((r) => r.leaderChanges).filter((n): n is number => n !== undefined);
  if (changes.length > 0) m.leaderChanges = changes.reduce((a, b) => a + b, 0);
  return m;
}

/** Each round's ratio (b over a), for the rounds where both ran; the report's ratio is their median. */
export function roundRatios(a: readonly Outcome[], b: readonly Outcome[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (ok(x) && ok(y) && x.rate > 0) out.push(y.rate / x.rate);
  }
  return out;
}
