/**
 * `npm run bench -- --help` prints the options; a bad command line says what is wrong, then the
 * options, and exits with status 2 before starting any server (no stack trace).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureServerBuilt } from '../harness/concord.js';
import { ROOT } from '../harness/fixtures.js';

const BENCH = path.join(ROOT, 'dist/bench/api.js');
const bench = (...args: string[]) =>
  spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 30_000 });

beforeAll(() => ensureServerBuilt());

test('--help prints every option and exits 0', () => {
  const r = bench('--help');
  expect(r.status).toBe(0);
  for (const o of [
    '--target',
    '--members',
    '--endpoints',
    '--seconds',
    '--warmup',
    '--cases',
    '--json',
    '--cpu-prof',
    '--rounds',
  ])
    expect(r.stdout).toContain(o);
});

test.each([
  [['--bogus'], /Unknown option '--bogus'/],
  [['--members', '2'], /--members must be 1 or 3, got 2/],
  [['--seconds', '0'], /--seconds must be a positive number, got 0/],
  [['--target', 'consul'], /--target must be etcd, concord or both, got consul/],
  [['--cases', 'no such case'], /--cases no such case matches no case/],
  [['--rounds', '0'], /--rounds must be a whole number from 1, got 0/],
  [['--rounds', '1.5'], /--rounds must be a whole number from 1, got 1.5/],
])('%j is refused with the reason and the usage, status 2', (args, reason) => {
  const r = bench(...args);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(reason);
  expect(r.stderr).toContain('usage: npm run bench');
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
