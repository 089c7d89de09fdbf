/**
 * Every error class a user can catch is documented: each class exported by a public entry point
 * (package.json's `exports`) has a stable string `code`, no two such classes share a name or a
 * code, and docs/errors.md lists each with its code. The same page lists every entry of etcd's
 * error table (src/errors) with its code and exact message, whichever class it reaches users as.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Status } from 'nice-grpc-common';
import { ETCD_ERRORS, GrpcStatusCode } from '../../src/errors/index.js';

const ROOT = path.join(__dirname, '../..');
const PAGE = 'docs/errors.md';
const docs = readFileSync(path.join(ROOT, PAGE), 'utf8');

type ErrorClass = (abstract new (...args: never[]) => Error) & { CODE?: unknown };

/** The source file of each public entry point: `./dist/src/fetch.js` is `src/fetch.ts`. */
function entryPoints(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | Record<string, string>>;
  };
  const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
  const sources = targets.flatMap((t) => {
    const m = /^\.\/dist\/(.+)\.js$/.exec(t);
    return m ? [`${m[1]}.ts`] : [];
  });
  return [...new Set(sources)].sort();
}

/** Every error class exported by an entry point, by exported name, with the entry points that export it. */
function exportedErrors(): Map<string, { cls: ErrorClass; from: string[] }> {
  const out = new Map<string, { cls: ErrorClass; from: string[] }>();
  for (const file of entryPoints()) {
    const mod = require(path.join(ROOT, file)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
      const seen = out.get(name);
      if (seen && seen.cls !== value)
        throw new Error(`two public classes named ${name}: ${seen.from} and ${file}`);
      out.set(name, { cls: value as ErrorClass, from: [...(seen?.from ?? []), file] });
    }
  }
  return out;
}

/** The `code` every instance of the class has: its static CODE (EtcdError itself says 'etcd'). */
function codeOf(name: string, cls: ErrorClass): string | undefined {
  if (typeof cls.CODE === 'string') return cls.CODE;
  return name === 'EtcdError' ? 'etcd' : undefined;
}

/** The table rows of the page: each row's code spans (`like this`). */
const rows = docs
  .split('\n')
  .filter((line) => line.startsWith('|'))
  .map((line) => [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));

const errors = exportedErrors();

test('the public entry points export error classes', () => {
  expect(entryPoints()).toEqual(expect.arrayContaining(['src/index.ts', 'src/fetch.ts', 'recipes/index.ts']));
  expect(errors.size).toBeGreaterThan(40);
});

test.each([...errors].map(([name, { cls }]) => [name, cls] as const))(
  '%s has a stable code and is documented in docs/errors.md',
  (name, cls) => {
    const code = codeOf(name, cls);
    expect({ name, code: typeof code }).toEqual({ name, code: 'string' });
    const row = rows.find((spans) => spans.includes(name));
    expect({ name, documented: row !== undefined }).toEqual({ name, documented: true });
    expect({ name, codeInItsRow: row?.includes(code!) }).toEqual({ name, codeInItsRow: true });
  },
);

test('no two public error classes share a code', () => {
  const byCode = new Map<string, string[]>();
  for (const [name, { cls }] of errors) {
    const code = codeOf(name, cls)!;
    byCode.set(code, [...(byCode.get(code) ?? []), name]);
  }
  expect([...byCode].filter(([, names]) => names.length > 1)).toEqual([]);
});

test.each(Object.entries(ETCD_ERRORS))('etcd error %s is documented with its message', (code, spec) => {
  const row = rows.find((spans) => spans.includes(spec.message));
  expect({ code, documented: row !== undefined }).toEqual({ code, documented: true });
  expect({ code, codeInItsRow: row?.includes(code) }).toEqual({ code, codeInItsRow: true });
});

test("the table's gRPC status numbers are gRPC's", () => {
  for (const [name, n] of Object.entries(GrpcStatusCode))
    expect([name, n]).toEqual([name, Status[name as 'OK']]);
});

test('the table imports nothing but itself, so the SDK bundles it as it is', () => {
  const dir = path.join(ROOT, 'src/errors');
  for (const file of readdirSync(dir)) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/from\s+'([^']+)'/g))
      expect(`${file}: ${m[1]}`).toMatch(/: \.\/[\w-]+\.js$/);
  }
});
