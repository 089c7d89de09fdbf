/**
 * Every ```ts block of the README and of docs/ type-checks as a user's module would: each block
 * is saved as a module inside the package (so `concord-kv`, `concord-kv/recipes` … resolve to this
 * package, through its `exports`, to the built `.d.ts`) and the lot goes through tsc with the
 * settings docs/getting-started.md gives users (NodeNext, ES2022, strict).
 *
 * Many blocks are fragments that use a `client` (or a `signal`, a `user` …) made elsewhere:
 * CONTEXT declares those names once, as globals, so a fragment is checked against the real types
 * instead of being skipped (snippets-run.test.ts gives them values when it runs the blocks). A
 * block that declares a name itself shadows the global. No block is skipped, ```ts no-run ones
 * included.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { allSnippets, moduleName, root } from './doc-files.js';

const run = promisify(execFile);

/** What the fragments take as given. */
const CONTEXT = `
declare var client: import('concord-kv').Client;
declare var signal: AbortSignal;
declare var data: string;
declare var user: { id: string; country: string };
declare var name: string;
declare var ctx: import('concord-kv/recipes').EvaluationContext;
/** Cloudflare Workers' type (@cloudflare/workers-types), for the fetch transport's handler. */
interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}
`;

const TSCONFIG = {
  compilerOptions: {
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    lib: ['ES2022', 'ESNext.Disposable'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  },
  include: ['*.ts'],
};

// Type-checking does not depend on the target: jest.config.cjs runs this file in the 'etcd'
// project only (ETCD_ONLY_FILES).

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/src/index.d.ts'))) await run('npm', ['run', 'build'], { cwd: root });
}, 120_000);

test('every ```ts block of README.md and docs/ type-checks (NodeNext, strict)', async () => {
  const blocks = allSnippets();
  expect(blocks.filter((b) => b.file === 'README.md').length).toBeGreaterThan(0);
  expect(blocks.length).toBeGreaterThan(20);
  const dir = join(root, '.tmp', `doc-snippets-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(join(dir, 'doc-context.d.ts'), CONTEXT);
    for (const block of blocks) {
      // A block without import or export would be a script: make it a module (top-level await).
      const { code } = block;
      const moduleCode = /^\s*(import|export)\s/m.test(code) ? code : `${code}\nexport {};\n`;
      writeFileSync(join(dir, `${moduleName(block)}.ts`), moduleCode);
    }
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
      () => '',
      (e: { stdout?: string; message: string }) => e.stdout || e.message,
    );
    // Errors name the file, and so the page and line of the block.
    expect(result).toBe('');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('a ```ts no-run block says why on its first line', () => {
  const noRun = allSnippets().filter((b) => !b.run);
  const unexplained = noRun.filter((b) => !/^\/\/ no-run: \S/.test(b.code));
  expect(unexplained.map((b) => `${b.file}:${b.line}`)).toEqual([]);
  // Kept few: most blocks run.
  console.log(
    `${noRun.length} \`\`\`ts no-run block(s): ${noRun.map((b) => `${b.file}:${b.line}`).join(', ')}`,
  );
});
