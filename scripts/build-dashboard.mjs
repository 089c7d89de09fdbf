/**
 * Bundles the dashboard's front end (src/dashboard/ui) with esbuild into one script and one
 * stylesheet next to the compiled server (dist/src/dashboard/assets/), which the package ships:
 * the page loads nothing from anywhere else.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ui = path.join(root, 'src/dashboard/ui');
const out = path.join(root, 'dist/src/dashboard/assets');
mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning' };
await build({
  ...common,
  entryPoints: [path.join(ui, 'main.ts')],
  outfile: path.join(out, 'app.js'),
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
});
await build({ ...common, entryPoints: [path.join(ui, 'app.css')], outfile: path.join(out, 'app.css') });
