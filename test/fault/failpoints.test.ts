/**
 * The failpoint module: its spec language, and a process armed with a crash failpoint dying
 * exactly there (SIGKILL, as kill -9) while an unarmed one runs through.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseFailpoints } from '../../src/failpoints.js';
import { ensureServerBuilt } from '../harness/concord.js';
import { ROOT } from '../harness/fixtures.js';

beforeAll(() => ensureServerBuilt());

test('parses crash and sleep actions with a probability', () => {
  const fp = parseFailpoints('wal-before-fsync=crash@5%, apply=sleep(200)');
  expect(fp.get('wal-before-fsync')).toEqual({ kind: 'crash', ms: 0, probability: 0.05 });
  expect(fp.get('apply')).toEqual({ kind: 'sleep', ms: 200, probability: 1 });
  expect(parseFailpoints('').size).toBe(0);
  expect(parseFailpoints('apply=throw').get('apply')).toEqual({ kind: 'throw', ms: 0, probability: 1 });
});

test('refuses unknown points and malformed actions, naming them', () => {
  expect(() => parseFailpoints('wal-fsync=crash')).toThrow(/unknown failpoint "wal-fsync"/);
  expect(() => parseFailpoints('apply=explode')).toThrow(/cannot parse "apply=explode"/);
});

const probe = (env: Record<string, string>) =>
  spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const f = await import(${JSON.stringify(path.join(ROOT, 'dist/src/failpoints.js'))});
       console.log('armed', f.FAILPOINTS);
       f.failpoint('apply');
       console.log('after');`,
    ],
    { env: { ...process.env, CONCORD_FAILPOINTS: '', CONCORD_MUTATION: '', ...env }, encoding: 'utf8' },
  );

test('an armed crash point kills the process there; unarmed, the call is a no-op', () => {
  const crashed = probe({ CONCORD_FAILPOINTS: 'apply=crash' });
  expect(crashed.signal).toBe('SIGKILL');
  expect(crashed.stdout).toBe('armed true\n');
  expect(crashed.stderr).toContain('failpoint apply: crash');
  const clean = probe({});
  expect(clean.status).toBe(0);
  expect(clean.stdout).toBe('armed false\nafter\n');
});

test('an unknown mutation refuses to start', () => {
  const r = probe({ CONCORD_MUTATION: 'no-such-bug' });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('unknown mutation "no-such-bug"');
});
