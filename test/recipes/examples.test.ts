/**
 * The runnable programs in examples/ run against a real etcd and print what they promise.
 * (Each recipe's own test file runs its example; these are the SDK and lock/election ones.)
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { etcdSuite } from '../harness/etcd-suite.js';
import { ROOT } from '../harness/fixtures.js';

const etcd = etcdSuite({ members: 1, name: 'examples' });

test('examples/lock: both workers hold the lock in turn, fenced writes succeed', async () => {
  const out = (await etcd.example('lock')).lines;
  expect(out.filter((l) => l.includes('held the lock')).sort()).toEqual([
    'worker-a held the lock (token ok), fenced write ok: true',
    'worker-b held the lock (token ok), fenced write ok: true',
  ]);
  expect(out.at(-1)).toMatch(/^report: written by worker-[ab] with token N$/);
});

test('examples/election: succession seen by the observer', async () => {
  const out = (await etcd.example('election')).lines;
  expect(out).toHaveLength(4);
  expect(out).toContain('node-a: elected');
  expect(out).toContain('node-b: elected');
  expect(out.filter((l) => l.startsWith('observer:'))).toEqual([
    'observer: leader is node-a',
    'observer: leader is node-b',
  ]);
  expect(out.indexOf('node-a: elected')).toBeLessThan(out.indexOf('node-b: elected'));
});

test('examples/config-watch: initial snapshot then live changes', async () => {
  const { Client } = await import('../../src/index.js');
  const c = new Client({ endpoints: etcd.cluster.endpoints });
  await c.put('config/a', '1');
  const child = execFile(process.execPath, [path.join(ROOT, 'dist/examples/config-watch.js')], {
    env: { ...process.env, ETCD_ENDPOINTS: etcd.cluster.endpoints.join(',') },
    timeout: 20_000,
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    for (let i = 0; i < 100 && !out.includes('initial'); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    await c.put('config/b', '2');
    await c.delete('config/a');
    for (let i = 0; i < 100 && !out.includes('delete a'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain(`initial { a: '1' }`);
    expect(out).toMatch(/rev \d+: put b \{ a: '1', b: '2' \}/);
    expect(out).toMatch(/rev \d+: delete a \{ b: '2' \}/);
    // SIGINT cancels the watch; the program then closes its client and exits on its own.
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
    c.close();
  }
});
