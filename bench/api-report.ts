/**
 * The text table of `npm run bench`: one row per case, one column group (ops/s, p50, p99) per
 * target, and Concord's throughput as a ratio of etcd's when both ran. Errors, failed cases and
 * case notes are listed under the table rather than squeezed into it.
 */
import type { Measured } from './api-load.js';
import { median, type Outcome, roundRatios } from './api-rounds.js';

export interface Column {
  label: string;
  endpoints: string[];
  results: Map<string, Measured | Error>;
  /** With --rounds: each case's rounds, in order (`results` holds their medians). */
  rounds?: Map<string, Outcome[]>;
  /** The target could not be started. */
  error?: string;
}

const num = (n: number, digits: number) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-';

function cells(r: Measured | Error | undefined): string[] {
  if (r === undefined) return ['-', '-', '-'];
  if (r instanceof Error) return ['failed', '-', '-'];
  return [num(r.rate, 0), num(r.p50, 2), num(r.p99, 2)];
}

/** One case of one target in --json: its result (the medians, with --rounds) and each round's. */
export function caseJson(r: Outcome, rounds?: Outcome[]): object {
  const plain = (x: Outcome) => (x instanceof Error ? { error: x.message } : x);
  return rounds ? { ...plain(r), rounds: rounds.map(plain) } : plain(r);
}

export function table(cases: string[], columns: Column[]): string {
  const withRatio = columns.length === 2;
  // A run without --rounds is one round: its ratio is that round's.
  const outcomes = (c: Column, name: string): Outcome[] => {
    const r = c.rounds?.get(name) ?? [c.results.get(name)];
    return r.filter((x): x is Outcome => x !== undefined);
  };
  const ratios = new Map(
    withRatio ? cases.map((n) => [n, roundRatios(outcomes(columns[0]!, n), outcomes(columns[1]!, n))]) : [],
  );
  const header = ['case', ...columns.flatMap((c) => [`${c.label} ops/s`, 'p50', 'p99'])];
  if (withRatio) header.push('ratio');
  const rows = cases.map((name) => {
    const row = [name, ...columns.flatMap((c) => cells(c.results.get(name)))];
    if (withRatio) {
      const byRound = ratios.get(name)!;
      row.push(byRound.length > 0 ? num(median(byRound), 2) : '-');
    }
    return row;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Columns of one target are grouped between bars.
  const bar = (i: number) => i === 0 || (i - 1) % 3 === 2;
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .map((cell, i) => (i < r.length - 1 ? `${cell}${bar(i) ? ' | ' : '  '}` : cell))
      .join('');
  const out = [line(header), '-'.repeat(line(header).length), ...rows.map(line)];
  const notes: string[] = [];
  for (const c of columns) {
    if (c.error) notes.push(`${c.label}: not run: ${c.error.split('\n')[0]}`);
    for (const [name, r] of c.results) {
      if (r instanceof Error) notes.push(`${c.label}, ${name}: failed: ${r.message}`);
      else {
        if (r.note) notes.push(`${c.label}, ${name}: ${r.note}`);
        if (r.errors) notes.push(`${c.label}, ${name}: ${r.errors} errors, first: ${r.firstError}`);
        if (r.leaderChanges)
          notes.push(`${c.label}, ${name}: ${r.leaderChanges} leader change(s) during the case`);
      }
    }
  }
  if (withRatio) {
    const rounded = cases.flatMap((name) => {
      const byRound = ratios.get(name)!;
      return byRound.length > 1 ? [`  ${name}: ${byRound.map((r) => num(r, 2)).join(', ')}`] : [];
    });
    if (rounded.length > 0) notes.unshift('ratio of each round, in order:', ...rounded);
    notes.unshift(
      `ratio: ${columns[1]!.label} ops/s / ${columns[0]!.label} ops/s${rounded.length > 0 ? ', the median of the rounds' : ''}`,
    );
  }
  return [...out, '', ...notes].join('\n');
}
