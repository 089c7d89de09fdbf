/**
 * The fetch entry point bundles for fetch-only runtimes: examples/edge-handler.ts (a flag read,
 * a lock and a fenced write) is bundled by esbuild for platform 'browser' with nothing external
 * and must hold no gRPC code, import no node:* module and use no global Buffer; the bundle then
 * runs in a fresh Node process where node:http2, node:net and node:tls cannot be loaded, against
 * a live Concord. And "client + lock()" is smaller on fetch than on
 * gRPC (the README quotes the sizes; `node scripts/bundle-size.mjs` measures them).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { flagsAdmin } from '../../recipes/flags.js';
import { Client } from '../../src/index.js';
import { type EtcdCluster, startEtcd, withTimeout } from '../harness/etcd.js';
import { ensureBuilt, killAll, ROOT, spawnTracked } from '../harness/fixtures.js';

const CONCORD_AS_ETCD = path.join(ROOT, 'test/harness/concord-as-etcd');
/** What a fetch-only bundle must not contain. */
const GRPC_CODE = /@grpc\/grpc-js|node_modules\/nice-grpc\/|src\/client\/(grpc-transport|node-client)\.ts/;
/** A use of the global Buffer in minified code (as scripts/bundle-size.mjs looks for it). */
const GLOBAL_BUFFER = /(?<![\w$.'"`])Buffer(?![\w$'"`])/;

let dir: string;
let cluster: EtcdCluster | undefined;

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-edge-'));
}, 60_000);

afterEach(() => killAll());

afterAll(async () => {
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const inputsOf = (m: Metafile) => Object.keys(m.inputs);

test('the edge handler bundles for a browser: no gRPC code, no node:* module, no Buffer', async () => {
  const r = await build({
    entryPoints: [path.join(ROOT, 'examples/edge-handler.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    mainFields: ['module', 'main'],
    minify: true,
    metafile: true,
    outfile: path.join(dir, 'edge.mjs'),
    logLevel: 'silent',
  });
  const inputs = inputsOf(r.metafile);
  expect(inputs.some((f) => f.endsWith('src/client/fetch-transport.ts'))).toBe(true);
  expect(inputs.filter((f) => GRPC_CODE.test(f))).toEqual([]);
  const imports = Object.values(r.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  expect(imports).toEqual([]);
  expect(GLOBAL_BUFFER.exec(await readFile(path.join(dir, 'edge.mjs'), 'utf8'))?.[0]).toBeUndefined();
}, 60_000);

test('the bundled handler takes a lock and reads a flag where http2, net and tls cannot load', async () => {
  cluster = await startEtcd({ members: 1, bin: CONCORD_AS_ETCD, name: 'edge' });
  const endpoints = cluster.endpoints;
  const admin = new Client({ endpoints });
  try {
    await flagsAdmin(admin, { prefix: 'edge/flags/' }).set('edge-writes', {
      type: 'boolean',
      value: false,
      rules: [{ attribute: 'targetingKey', op: 'in', value: ['ann'], serve: true }],
    });
    const run = async (user: string) => {
      const p = spawnTracked(
        process.execPath,
        [
          '--import',
          path.join(ROOT, 'test/fixtures/edge/deny-register.mjs'),
          path.join(ROOT, 'test/fixtures/edge/run-edge.mjs'),
          path.join(dir, 'edge.mjs'),
          user,
        ],
        { ENDPOINTS: endpoints.join(',') },
      );
      const code = await withTimeout(p.exited, 30_000, `the edge handler for ${user} to finish`);
      if (code !== 0) throw new Error(`run-edge exited with ${code}: ${p.stderr()}`);
      expect(p.lines[1]).toBe('cleaned up');
      return JSON.parse(p.lines[0]!) as { status: number; body: Record<string, unknown> };
    };

    expect(await run('bob')).toEqual({ status: 200, body: { user: 'bob', enabled: false } });

    const ann = await run('ann');
    expect(ann.body).toMatchObject({ user: 'ann', enabled: true, transport: 'fetch', written: true });
    const report = await admin.get('edge/report');
    expect(report?.text()).toBe('written for ann');
    // The fencing token is the lock key's create revision: the write came after it.
    expect(BigInt(ann.body.fencingToken as string)).toBeLessThan(report!.modRevision);
    // waitUntil's cleanup released the lock and revoked its lease: nothing is left behind.
    expect((await admin.range({ prefix: 'edge/locks/' })).kvs).toEqual([]);
    expect(await admin.leases()).toEqual([]);
  } finally {
    admin.close();
  }
}, 120_000);

test('client + lock() is smaller on the fetch transport than on gRPC', async () => {
  const size = async (entry: string, platform: 'browser' | 'node') => {
    const r = await build({
      stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'entry.ts', loader: 'ts' },
      bundle: true,
      format: 'esm',
      platform,
      mainFields: ['module', 'main'],
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    return { gzip: gzipSync(r.outputFiles[0]!.contents).length, inputs: inputsOf(r.metafile) };
  };
  const fetchOnly = await size(
    "export { Client } from './src/fetch.ts'; export { lock } from './recipes/lock.ts';",
    'browser',
  );
  const grpc = await size(
    "export { Client } from './src/index.ts'; export { lock } from './recipes/lock.ts';",
    'node',
  );
  expect(fetchOnly.inputs.filter((f) => GRPC_CODE.test(f))).toEqual([]);
  expect(grpc.inputs.some((f) => f.includes('@grpc/grpc-js'))).toBe(true);
  expect(fetchOnly.gzip).toBeLessThan(grpc.gzip);
}, 60_000);
