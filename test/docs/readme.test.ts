/**
 * The SDK quick start (docs/sdk.md, moved there from the README) runs as written, as plain
 * JavaScript: its code block is saved as a module inside the package (so `import ... from
 * 'concord-kv'` resolves to this package) and run with node against real etcd and Concord, and it
 * must print what its comments say and exit by itself. The README stays a landing page.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type EtcdCluster, startEtcd } from '../harness/etcd.js';

const root = process.cwd();
let cluster: EtcdCluster;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/src/index.js'))) {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: root });
  }
  cluster = await startEtcd({ members: 1, name: 'readme' });
});
afterAll(() => cluster?.close());

function quickStart(): string {
  const md = readFileSync(join(root, 'docs/sdk.md'), 'utf8');
  const section = md.split('\n## Quick start\n')[1];
  const code = section?.match(/```ts\n([\s\S]*?)```/)?.[1];
  if (!code) throw new Error('docs/sdk.md has no ```ts block under "## Quick start"');
  return code;
}

test('the README is a landing page: under 200 lines, with the set-up commands', () => {
  const md = readFileSync(join(root, 'README.md'), 'utf8');
  expect(md.split('\n').length).toBeLessThan(200);
  expect(md).toContain('npm install && npm start');
  expect(md).toContain('npm install concord-kv');
});

test('the SDK quick start runs as written', async () => {
  const dir = join(root, '.tmp');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `quickstart-${process.pid}.mjs`);
  writeFileSync(file, quickStart());
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file], {
      env: { ...process.env, ETCD_ENDPOINTS: cluster.endpoints.join(',') },
      timeout: 20_000,
    });
    expect(stdout.split('\n').filter(Boolean)).toEqual(['blue', 'true', 'put config/size large']);
  } finally {
    rmSync(file, { force: true });
  }
});
