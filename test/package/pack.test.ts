/**
 * The package as a user gets it. A copy of this clone without its build output is packed with
 * `npm pack` (its prepack/prepare scripts build dist); the tarball is installed into a new app
 * folder outside the repository (offline, from the npm cache: see app-lock.ts); an app in
 * TypeScript, with the tsconfig.json docs/getting-started.md gives, imports the main entry,
 * `/recipes`, `/fetch` and `/testing`, type-checks with the app's own tsc, and runs a lock, an
 * election, a registry and a flag read against `npx concord serve` started from the app folder,
 * then a put on a `startTestCluster()` member; `npx concord --version` prints the version.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts, waitFor } from '../harness/etcd.js';
import { appFiles } from './app-lock.js';

const root = process.cwd();
const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };

/**
 * What the package is built from, of what a clone holds (no dist/). examples/ and bench/ are
 * left out: the build compiles them too, but nothing of them is packed, and the test is faster.
 */
const CLONE_FILES = [
  'package.json',
  'package-lock.json',
  'README.md',
  'tsconfig.json',
  'tsconfig.build.json',
  'src',
  'recipes',
  'proto',
  // The build bundles the dashboard's front end with scripts/build-dashboard.mjs.
  'scripts',
  'schemas',
];

/**
 * The environment of the npm commands: this test may itself run under `npm test`, whose
 * npm_* variables (the repository's package, its lifecycle, its local prefix) must not leak
 * into the app's npm. The user's own npm settings (cache, registry, userconfig) stay.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_') || keep.has(k)) env[k] = v;
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

/** The tsconfig.json of docs/getting-started.md's "TypeScript set-up". */
function documentedTsconfig(): { compilerOptions: Record<string, unknown> } {
  const md = readFileSync(join(root, 'docs/getting-started.md'), 'utf8');
  const json = md.split('## TypeScript set-up')[1]?.match(/```json\n([\s\S]*?)```/)?.[1];
  if (!json) throw new Error('docs/getting-started.md has no ```json block under "## TypeScript set-up"');
  return JSON.parse(json);
}

const APP = `
import { Client } from 'concord-kv';
import { Client as FetchClient } from 'concord-kv/fetch';
import { discover, elect, flags, flagsAdmin, lock, register } from 'concord-kv/recipes';
import { startTestCluster } from 'concord-kv/testing';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
await using client = new Client({ endpoints });

{
  await using held = await lock(client, 'app/lock', { ttl: 10 });
  console.log(\`lock: held, fencing token \${held.fencingToken > 0n ? 'positive' : held.fencingToken}\`);
}

const election = elect(client, 'app/leader', { value: 'node-a', ttl: 10 });
await election.campaign();
console.log(\`election: leader is \${(await election.leader())?.text()}\`);
await election.resign();

{
  const meta = { zone: 'a' };
  await using reg = await register(client, 'api', { id: 'api-1', address: '10.0.0.5:8080', meta });
  await reg.update({ meta: { zone: 'a', draining: true } });
  await using view = await discover(client, 'api');
  const found = view.instances().map((i) => \`\${i.id}@\${i.address} \${JSON.stringify(i.meta)}\`);
  console.log(\`registry: \${found.join(', ')}\`);
}

await flagsAdmin(client).set('new-checkout', {
  type: 'boolean',
  value: false,
  rules: [{ attribute: 'country', op: 'in', value: ['FR'], serve: true }],
});
const overFetch = new FetchClient({ endpoints });
const reader = flags(overFetch);
await reader.ready();
const on = reader.getBoolean('new-checkout', false, { targetingKey: 'u1', country: 'FR' });
console.log(\`flags: new-checkout is \${on} (read over fetch)\`);
reader.close();
overFetch.close();

{
  await using cluster = await startTestCluster();
  const c = cluster.client();
  await c.put('k', 'v');
  console.log(\`testing: \${cluster.members.length} member, read \${await c.getString('k')}\`);
}
`;

let tmp: string;
let serve: ChildProcess | undefined;
let serveOutput = '';

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'concord-pack-'));
});

afterAll(async () => {
  if (serve?.pid && serve.exitCode === null && serve.signalCode === null) {
    const exited = new Promise((resolve) => serve!.once('exit', resolve));
    process.kill(-serve.pid, 'SIGTERM'); // its process group: npx, and concord under it
    const timer = setTimeout(() => serve?.pid && process.kill(-serve.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(tmp, { recursive: true, force: true });
});

test('npm pack of a clone installs into a new app that type-checks and runs', async () => {
  // A clone: sources only, this repository's node_modules (what `npm ci` would install there).
  const clone = join(tmp, 'clone');
  mkdirSync(clone);
  for (const f of CLONE_FILES) cpSync(join(root, f), join(clone, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');

  const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp], {
    cwd: clone,
    env: npmEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = info!.files.map((f) => f.path);
  for (const f of [
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/fetch.js',
    'dist/src/cli/main.js',
    'dist/recipes/index.js',
    'dist/recipes/index.d.ts',
    'dist/recipes/openfeature.js',
    'dist/src/testing/index.js',
    'dist/src/testing/orphan-guard.js',
    'dist/src/dashboard/assets/app.js',
    'dist/src/dashboard/assets/app.css',
    'schemas/flag-definition.schema.json',
  ]) {
    expect(files).toContain(f);
  }
  // Compiled code, no sources, tests or dev-only builds.
  expect(
    files.filter((f) => !/^(dist\/(src|recipes)\/|proto\/|schemas\/|package\.json$|README\.md$)/.test(f)),
  ).toEqual([]);
  expect(readFileSync(join(clone, 'dist/src/cli/main.js'), 'utf8').split('\n')[0]).toBe(
    '#!/usr/bin/env node',
  );

  // A new app, outside the repository, with the tarball and its own TypeScript.
  const app = join(tmp, 'app');
  mkdirSync(app);
  const { packageJson, packageLock } = appFiles(root, join(tmp, info!.filename), `../${info!.filename}`);
  writeFileSync(join(app, 'package.json'), JSON.stringify(packageJson, null, 2));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(packageLock, null, 2));
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: app, env: npmEnv() });

  // `npx concord serve` from the app folder (the bin the package installed), started while the
  // app type-checks.
  const [clientPort, peerPort] = await freePorts(2);
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  serve = spawn(
    'npx',
    [
      'concord',
      'serve',
      ...['--name', 'app', '--data-dir', join(tmp, 'data')],
      ...['--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl],
      ...['--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl],
      ...['--initial-cluster', `app=${peerUrl}`],
    ],
    { cwd: app, env: npmEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const s of [serve.stdout, serve.stderr]) s?.on('data', (d: Buffer) => (serveOutput += d.toString()));

  const tsconfig = documentedTsconfig();
  tsconfig.compilerOptions.outDir = 'out';
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ ...tsconfig, include: ['app.ts'] }, null, 2));
  writeFileSync(join(app, 'app.ts'), APP);
  const [tsc, version] = await Promise.all([
    run(join(app, 'node_modules/.bin/tsc'), ['-p', app], { cwd: app }).then(
      () => '',
      (e: { stdout?: string; message: string }) => e.stdout || e.message,
    ),
    run('npx', ['concord', '--version'], { cwd: app, env: npmEnv() }),
  ]);
  expect(tsc).toBe('');
  expect(version.stdout).toContain(`concord Version: ${pkg.version}`);

  await waitFor(
    async () => {
      if (serve?.exitCode !== null) throw new Error('concord serve exited');
      const r = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) }).catch(
        () => undefined,
      );
      return r?.ok === true;
    },
    { timeoutMs: 30_000, what: 'npx concord serve to answer /health' },
  ).catch((e: Error) => {
    throw new Error(`${e.message}; its output:\n${serveOutput.slice(-2000)}`);
  });

  const out = await run(process.execPath, [join(app, 'out/app.js')], {
    cwd: app,
    env: { ...process.env, ETCD_ENDPOINTS: `127.0.0.1:${clientPort}` },
    timeout: 60_000,
  });
  expect(out.stdout.trim().split('\n')).toEqual([
    'lock: held, fencing token positive',
    'election: leader is node-a',
    'registry: api-1@10.0.0.5:8080 {"zone":"a","draining":true}',
    'flags: new-checkout is true (read over fetch)',
    'testing: 1 member, read v',
  ]);
}, 240_000);
