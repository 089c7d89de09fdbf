/**
 * The `concord` command as an etcd user expects it: `--version` as `etcd --version`, each
 * subcommand's own --help, `serve --help` with every default, refusals that name the flag and
 * what to do (no stack trace, nothing written), and `snapshot save` as etcdctl's.
 */
import { readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Client } from '../../src/index.js';
import { ROOT } from '../harness/fixtures.js';
import { cliSuite, ports, run, serveArgs, startReady, stop, tempDir } from './cli-helpers.js';

cliSuite();

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

test('concord --version prints the package version and the etcd API version, as etcd --version', async () => {
  for (const flag of ['--version', '-v']) {
    const r = await run([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^concord Version: ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
    expect(r.stdout).toMatch(/^etcd API Version: 3\.\d+$/m);
    expect(r.stdout).toMatch(/^Node\.js Version: v\d+\.\d+\.\d+$/m);
  }
});

test('every subcommand’s --help is its own', async () => {
  for (const cmd of [
    ['serve'],
    ['dev'],
    ['snapshot'],
    ['snapshot', 'list'],
    ['snapshot', 'inspect'],
    ['snapshot', 'status'],
    ['snapshot', 'restore'],
    ['snapshot', 'save'],
  ]) {
    const r = await run([...cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: concord ${cmd.join(' ')} `));
  }
  const save = await run(['snapshot', 'save', '--help']);
  expect(save.stdout).not.toContain('Commands:');
  expect(save.stdout).toContain('--endpoints');
  // An unknown subcommand is said to be one, not answered with the parent's help.
  const nope = await run(['snapshot', 'nope', '--help']);
  expect(nope.code).toBe(1);
  expect(nope.stderr).toContain("unknown command 'snapshot nope'");
  expect(nope.stdout).toBe('');
});

test('serve --help shows the default of every flag that has one', async () => {
  const r = await run(['serve', '--help']);
  expect(r.code).toBe(0);
  // One line per option, whatever the wrapping: the option's text runs to the next option.
  const text = r.stdout.replace(/\s+/g, ' ');
  const optionText = (flag: string) => {
    const at = text.indexOf(`--${flag} `);
    expect(at).toBeGreaterThanOrEqual(0);
    const next = text.indexOf(' --', at + flag.length + 3);
    return text.slice(at, next < 0 ? undefined : next);
  };
  for (const [flag, dflt] of [
    ['snapshot-count', '100000'],
    ['quota-backend-bytes', '2147483648'],
    ['max-request-bytes', '1572864'],
    ['max-txn-ops', '128'],
    ['heartbeat-interval', '100'],
    ['election-timeout', '1000'],
    ['name', 'default'],
    ['initial-cluster-state', 'new'],
    ['initial-cluster-token', 'etcd-cluster'],
    ['auth-token-ttl', '300'],
    ['bcrypt-cost', '10'],
    ['grpc-keepalive-min-time', '5s'],
    ['auto-compaction-mode', 'periodic'],
    ['log-level', 'info'],
    ['cors', '*'],
  ])
    expect(optionText(flag)).toContain(`(default: ${dflt}`);
});

function noStack(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('EEXIST');
}

test('a file as --data-dir is refused naming the flag, before anything is written', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'afile');
  await writeFile(file, 'not a dir');
  const member = await ports();
  const r = await run(serveArgs(file, member));
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`concord: --data-dir ${file}: exists and is not a directory`);
  noStack(r.stderr);
  // Below a file: the directory cannot be created there.
  const under = await run(serveArgs(path.join(file, 'sub'), member));
  expect(under.code).toBe(1);
  expect(under.stderr).toContain(`--data-dir ${path.join(file, 'sub')}: ${file} is a file`);
  noStack(under.stderr);
  expect(await readdir(dir)).toEqual(['afile']);
});

async function holdPort(port: number): Promise<net.Server> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve());
  });
  return s;
}

test.each(['listen-client-urls', 'listen-peer-urls'])(
  'a busy --%s port is refused naming the flag, and no data dir is created',
  async (flag) => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'data');
    const { client, peer } = await ports();
    const busy = flag === 'listen-client-urls' ? client : peer;
    const held = await holdPort(busy);
    try {
      const r = await run(serveArgs(dataDir, { client, peer }));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `concord: --${flag} http://127.0.0.1:${busy}: address already in use (another etcd or concord?); choose another port`,
      );
      noStack(r.stderr);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      held.close();
    }
  },
);

test('snapshot save writes what a member streams, and snapshot status reads it', async () => {
  const dir = await tempDir();
  const { client, peer } = await ports();
  const member = await startReady(serveArgs(path.join(dir, 'data'), { client, peer }));
  const c = new Client({ endpoints: [`127.0.0.1:${client}`] });
  try {
    for (let i = 0; i < 5; i++) await c.put(`k${i}`, `v${i}`);
  } finally {
    c.close();
  }
  const file = path.join(dir, 'backup.db');
  const saved = await run(['snapshot', 'save', file, '--endpoints', `127.0.0.1:${client}`]);
  expect(saved.stderr).toBe('');
  expect(saved.code).toBe(0);
  expect(saved.stdout).toMatch(
    new RegExp(`^Snapshot saved at ${file.replaceAll('.', '\\.')} \\(\\d+ bytes\\)`),
  );
  const status = await run(['snapshot', 'status', file, '--json']);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ revision: 6, totalKey: 5 });
  expect(await readdir(dir)).toEqual(expect.arrayContaining(['backup.db']));
  expect(await readdir(dir)).not.toContain('backup.db.part');
  expect(await stop(member)).toBe(0);
}, 60_000);
