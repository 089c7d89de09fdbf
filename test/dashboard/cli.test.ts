/** `concord dashboard` refuses bad options with a message, before connecting to anything. */
import { spawnSync } from 'node:child_process';
import { MAIN } from '../harness/concord.js';

const run = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, 'dashboard', ...args], { encoding: 'utf8', timeout: 30_000 });

test('a --listen that is not host:port is refused', () => {
  const r = run('--listen', 'everywhere');
  expect(r.status).toBe(1);
  expect(r.stderr).toBe('concord: expected host:port, got "everywhere"\n');
});

test('--user without a password is refused', () => {
  const r = run('--user', 'alice', '--endpoints', '127.0.0.1:1');
  expect(r.status).toBe(1);
  expect(r.stderr).toBe('concord: --user without a password: give name:password or --password\n');
});

test('--help lists the options', () => {
  const r = run('--help');
  expect(r.status).toBe(0);
  for (const o of ['--endpoints', '--listen', '--allow-writes', '--cacert', '--user', '--prefix'])
    expect(r.stdout).toContain(o);
});
