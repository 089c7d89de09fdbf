/**
 * Every ```ts block of the README and of docs/ (all but the few marked ```ts no-run) runs as
 * written against a real Concord member: the block is compiled as a user's build would (ES2022,
 * so `await using` is compiled away) into a module inside the package, so `concord-kv` resolves
 * to this package, and run by node with ETCD_ENDPOINTS set. It must exit by itself with status 0:
 * a block that leaves a watch or a kept lease open hangs, and fails here.
 *
 * Fragments get the context snippets-typecheck.test.ts declares (`client`, `signal`, `user` …)
 * as globals, set by a module that runs first; a block that makes its own `client` shadows it.
 * Blocks run one after the other, so they do not contend for the same keys.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { type EtcdCluster, startEtcd } from '../harness/etcd.js';
import { allSnippets, moduleName, root } from './doc-files.js';

const run = promisify(execFile);

/** The values of the names CONTEXT declares in snippets-typecheck.test.ts. */
const CONTEXT = `
import { Client } from 'concord-kv';
globalThis.client = new Client({ endpoints: process.env.ETCD_ENDPOINTS });
globalThis.signal = AbortSignal.timeout(60_000);
globalThis.data = 'the nightly report';
globalThis.user = { id: 'user-1', country: 'FR' };
globalThis.name = 'new-checkout';
globalThis.ctx = { targetingKey: 'user-1', country: 'FR' };
`;

/** Runs the block, then closes the context's client: the process must then exit by itself. */
const main = (block: string) => `
import './context.mjs';
await import('./${block}.mjs');
globalThis.client.close();
`;

// Runs against Concord only: jest.config.cjs runs this file in the 'concord' project only
// (CONCORD_ONLY_FILES), where test/harness/concord-as-etcd stands in for etcd.

let cluster: EtcdCluster | undefined;
beforeAll(async () => {
  if (!existsSync(join(root, 'dist/src/index.js'))) await run('npm', ['run', 'build'], { cwd: root });
  cluster = await startEtcd({ members: 1, name: 'docs' });
}, 120_000);
afterAll(() => cluster?.close());

test('every ```ts block of README.md and docs/ runs against Concord and exits by itself', async () => {
  // DOCS_PAGE=docs/recipes/lock.md runs one page's blocks (while writing it).
  const page = process.env.DOCS_PAGE;
  const blocks = allSnippets().filter((b) => b.run && (!page || b.file === page));
  expect(blocks.length).toBeGreaterThan(page ? 0 : 20);
  const dir = join(root, '.tmp', `doc-run-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const failures: string[] = [];
  try {
    writeFileSync(join(dir, 'context.mjs'), CONTEXT);
    for (const block of blocks) {
      const name = moduleName(block);
      const js = ts.transpileModule(block.code, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      writeFileSync(join(dir, `${name}.mjs`), js);
      writeFileSync(join(dir, `${name}.main.mjs`), main(name));
      await run(process.execPath, [join(dir, `${name}.main.mjs`)], {
        cwd: dir,
        env: { ...process.env, ETCD_ENDPOINTS: cluster!.endpoints.join(',') },
        timeout: 60_000,
      }).catch((e: { stdout?: string; stderr?: string; killed?: boolean; message: string }) => {
        // node:test reports a failing test on stdout.
        const why = e.killed ? 'did not exit within 60 s' : `${e.message}\n${e.stderr}\n${e.stdout}`.trim();
        failures.push(`${block.file}:${block.line}: ${why.split('\n').slice(0, 40).join('\n')}`);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(failures).toEqual([]);
}, 900_000);
