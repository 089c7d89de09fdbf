// Measures "client + lock()" bundled by esbuild, minified and gzipped: on the fetch transport
// (`concord/fetch`, platform neutral) and on gRPC (`concord`, platform node). The README quotes
// these numbers; test/bundle/edge-bundle.test.ts checks that the first is the smaller.
//
//   node scripts/bundle-size.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function size(entry, platform) {
  const r = await build({
    stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'entry.ts', loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform,
    mainFields: ['module', 'main'],
    minify: true,
    external: ['node:crypto', 'node:events'],
    write: false,
    logLevel: 'silent',
  });
  const bytes = r.outputFiles[0].contents;
  return { minified: bytes.length, gzipped: gzipSync(bytes).length };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const [name, entry, platform] of [
  [
    'fetch (concord/fetch)',
    "export { Client } from './src/fetch.ts'; export { lock } from './recipes/lock.ts';",
    'neutral',
  ],
  [
    'gRPC (concord)',
    "export { Client } from './src/index.ts'; export { lock } from './recipes/lock.ts';",
    'node',
  ],
]) {
  const s = await size(entry, platform);
  console.log(`${name}: ${kb(s.minified)} minified, ${kb(s.gzipped)} gzipped`);
}
