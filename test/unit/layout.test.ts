/**
 * The layout's import rules (CONTRIBUTING.md, "Layout"): each folder of src/ may import only the
 * folders below it, so that nothing imports upward; the consensus core and the state machine
 * import no Node I/O module; the SDK never imports the server; recipes use the public SDK only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

/** For each part of src/ (a folder, or a top-level file by its name), the parts it may import. */
const ALLOWED: Record<string, string[]> = {
  gen: [],
  raft: [],
  errors: [],
  mvcc: ['gen', 'errors'],
  log: [],
  failpoints: [],
  backoff: [],
  storage: ['failpoints', 'log', 'backoff'],
  transport: ['gen', 'raft', 'log', 'backoff'],
  client: ['gen', 'errors', 'backoff'],
  core: ['client', 'gen', 'errors'],
  index: ['client', 'core', 'gen', 'errors'],
  fetch: ['client', 'core', 'gen', 'errors'],
  otel: ['client'],
  server: ['gen', 'raft', 'mvcc', 'storage', 'transport', 'failpoints', 'log', 'errors'],
  testing: ['client', 'core', 'index', 'gen', 'errors'],
  // The dashboard is an SDK user: the public client and the recipes' own decoders and validation.
  dashboard: ['client', 'core', 'index', 'gen', 'errors', 'recipes'],
  cli: [
    'gen',
    'raft',
    'mvcc',
    'storage',
    'transport',
    'server',
    'client',
    'core',
    'failpoints',
    'log',
    'errors',
    'dashboard',
  ],
};

/** Parts that do no I/O: no Node module that reaches outside the process. */
const PURE = new Set(['raft', 'mvcc', 'gen', 'errors']);
const IO_MODULES =
  /^(node:)?(fs|fs\/promises|net|http|http2|https|tls|dgram|child_process|os|worker_threads)$/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * The part of src/ a file belongs to: its top folder, or its own name for a top-level file. A
 * file outside src/ is its top folder of the repository (`recipes`).
 */
function partOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel[0] === '..') return path.relative(ROOT, file).split(path.sep)[0]!;
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, '') : rel[0]!;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
}

const srcFiles = files(SRC);

test.each(srcFiles.map((f) => [path.relative(ROOT, f), f]))(
  '%s imports only what its part may',
  (_rel, file) => {
    const part = partOf(file);
    const allowed = ALLOWED[part];
    if (!allowed)
      throw new Error(`src/${part} is not in the layout's table: add it to ALLOWED (and CONTRIBUTING.md)`);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
        const to = partOf(target);
        if (to !== part && !allowed.includes(to))
          expect(`${part} → ${to} (${spec})`).toBe(`${part} → one of [${allowed.join(', ')}]`);
      } else if (PURE.has(part)) {
        expect(IO_MODULES.test(spec) ? `${part} imports ${spec}` : 'no I/O').toBe('no I/O');
      }
    }
  },
);

test('recipes import the public SDK only', () => {
  const dir = path.join(ROOT, 'recipes');
  for (const file of files(dir)) {
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = path.relative(ROOT, path.resolve(path.dirname(file), spec));
      expect(target.startsWith('recipes') || target === 'src/core.js' ? 'public' : target).toBe('public');
    }
  }
});
