// Measures "client + lock()" bundled by esbuild, minified and gzipped: on the fetch transport
// (`concord-kv/fetch`, built for a browser) and on gRPC (`concord-kv`, platform node). The README
// and docs/performance.md quote these numbers; test/bundle/ checks them.
//
// The fetch bundle is built for platform 'browser' with nothing external, and so is one of every
// recipe: it fails if anything reachable from src/fetch.ts or the recipes imports a node:*
// module, or uses the global Buffer (a browser has neither), and above BUDGET_KIB gzipped.
//
//   node scripts/bundle-size.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Client + lock() on fetch, gzipped (issue 22). */
const BUDGET_KIB = 30;

export const FETCH_ENTRY =
  "export { Client } from './src/fetch.ts'; export { lock } from './recipes/lock.ts';";
/** Everything a browser may import: the fetch entry point and every recipe (checked, not measured). */
const ALL_BROWSER_ENTRY =
  "export * from './src/fetch.ts'; export * from './recipes/index.ts'; export * from './recipes/openfeature-web.ts';";
const GRPC_ENTRY = "export { Client } from './src/index.ts'; export { lock } from './recipes/lock.ts';";

/** A use of the global Buffer in minified code (`x.Buffer`, a guarded lookup, is not one). */
const GLOBAL_BUFFER = /(?<![\w$.'"`])Buffer(?![\w$'"`])/g;

/** Bundles `contents`; for the browser, with nothing external (a node:* import fails the build). */
export async function bundle(contents, platform) {
  const r = await build({
    stdin: { contents, resolveDir: ROOT, sourcefile: 'entry.ts', loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform,
    mainFields: ['module', 'main'],
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const bytes = r.outputFiles[0].contents;
  const text = new TextDecoder().decode(bytes);
  return {
    minified: bytes.length,
    gzipped: gzipSync(bytes).length,
    imports: Object.values(r.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path)),
    globalBuffer: [...text.matchAll(GLOBAL_BUFFER)].map((m) => text.slice(m.index - 40, m.index + 40)),
    inputs: Object.keys(r.metafile.inputs),
  };
}

/** What is wrong with a browser bundle: node:* imports, global Buffer uses. */
export function browserProblems(b) {
  return [
    ...b.imports.map((i) => `imports ${i}`),
    ...b.globalBuffer.map((at) => `uses the global Buffer: …${at}…`),
  ];
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

async function main() {
  const failures = [];
  let fetchOnly;
  try {
    fetchOnly = await bundle(FETCH_ENTRY, 'browser');
  } catch (e) {
    // esbuild names the file and the node:* module it could not resolve for a browser.
    failures.push(`the fetch bundle does not build for a browser: ${e.message}`);
  }
  if (fetchOnly) {
    console.log(
      `fetch (concord-kv/fetch, browser): ${kb(fetchOnly.minified)} minified, ${kb(fetchOnly.gzipped)} gzipped`,
    );
    failures.push(...browserProblems(fetchOnly));
    if (fetchOnly.gzipped > BUDGET_KIB * 1024)
      failures.push(`client + lock() on fetch is ${kb(fetchOnly.gzipped)} gzipped, over ${BUDGET_KIB} KiB`);
  }
  try {
    failures.push(
      ...browserProblems(await bundle(ALL_BROWSER_ENTRY, 'browser')).map((p) => `the recipes: ${p}`),
    );
  } catch (e) {
    failures.push(`the recipes do not build for a browser: ${e.message}`);
  }
  const grpc = await bundle(GRPC_ENTRY, 'node');
  console.log(`gRPC (concord-kv, node): ${kb(grpc.minified)} minified, ${kb(grpc.gzipped)} gzipped`);
  for (const f of failures) console.error(`bundle-size: ${f}`);
  if (failures.length > 0) process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
