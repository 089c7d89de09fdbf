#!/usr/bin/env node
// Regenerates the TypeScript protobuf code from proto/ (see buf.gen.yaml for the ts-proto options).
//
//   node scripts/gen-proto.mjs              # writes src/gen/
//   node scripts/gen-proto.mjs --out <dir>  # writes <dir>/ instead (used by the freshness test)
//
// Uses the buf CLI and the ts-proto plugin from node_modules only, with no network access.
// Output is staged in a temporary directory first; the target directory is cleared and replaced
// only once buf has succeeded, so a failed run never leaves a half-written or stale src/gen/.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Must match `out:` in buf.gen.yaml. */
const templateOut = join('src', 'gen');

function parseArgs(argv) {
  let out = join(root, templateOut);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') {
      const value = argv[++i];
      if (!value) throw new Error('--out needs a directory');
      out = resolve(value);
    } else if (arg.startsWith('--out=')) {
      out = resolve(arg.slice('--out='.length));
    } else if (arg === '--help' || arg === '-h') {
      console.log('usage: node scripts/gen-proto.mjs [--out <dir>]');
      process.exit(0);
    } else {
      throw new Error(`unknown argument: ${arg}`);
    }
  }
  return { out };
}

function binary(name) {
  const file = join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm ci first`);
  return file;
}

function main() {
  const { out } = parseArgs(process.argv.slice(2));
  const buf = binary('buf');
  binary('protoc-gen-ts_proto');

  const staging = mkdtempSync(join(tmpdir(), 'concord-gen-proto-'));
  try {
    const result = spawnSync(buf, ['generate', '--template', 'buf.gen.yaml', '--output', staging], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, BUF_CACHE_DIR: process.env.BUF_CACHE_DIR ?? join(staging, '.buf-cache') },
    });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`buf generate exited with status ${result.status}`);

    const generated = join(staging, templateOut);
    if (!existsSync(generated) || readdirSync(generated).length === 0) {
      throw new Error(`buf generate produced nothing in ${generated}`);
    }
    raiseDecodeDepth(generated);
    writeDescriptors(buf, staging, generated);
    assertSafeToReplace(out);
    rmSync(out, { recursive: true, force: true });
    cpSync(generated, out, { recursive: true });
    console.log(`generated ${listFiles(out).length} files into ${out}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * How deep the generated decoders may nest messages. ts-proto writes 100, which refuses a txn
 * nested 50 deep (TxnRequest and RequestOp alternate) while etcd accepts up to --max-txn-ops
 * levels (127 by default). 1,000 decodes within Node's default stack with room to spare (a
 * 1,000-message decode, and the same txn through toJSON/fromJSON, were tried); deeper txns are
 * refused before they are proposed (see MAX_TXN_DEPTH in src/mvcc/kv/txn.ts), so what is
 * accepted always decodes again at apply.
 */
const DECODE_DEPTH_LIMIT = 1000;

function raiseDecodeDepth(dir) {
  const from = 'if (previousRecursionDepth >= 100) {';
  for (const file of listFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    if (!text.includes('previousRecursionDepth')) continue;
    const next = text.split(from).join(`if (previousRecursionDepth >= ${DECODE_DEPTH_LIMIT}) {`);
    if (next === text)
      throw new Error(`${file}: ts-proto's decode depth check has changed; update raiseDecodeDepth`);
    writeFileSync(file, next);
  }
}

/**
 * Writes descriptors.ts: the proto/ files as a google.protobuf.FileDescriptorSet (base64), for
 * code that needs each field's protobuf type at run time (the JSON gateway's input checks, see
 * src/server/api/gateway/jsonpb.ts). Without source info, and without concord/ (peer messages only).
 */
function writeDescriptors(buf, staging, dir) {
  const set = join(staging, 'descriptors.binpb');
  const options = ['--as-file-descriptor-set', '--exclude-source-info', '--exclude-path', 'proto/concord'];
  const result = spawnSync(buf, ['build', ...options, '-o', set], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, BUF_CACHE_DIR: process.env.BUF_CACHE_DIR ?? join(staging, '.buf-cache') },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`buf build exited with status ${result.status}`);
  const base64 = readFileSync(set).toString('base64');
  const lines = base64.match(/.{1,100}/g) ?? [];
  const text = [
    '// Code generated by scripts/gen-proto.mjs (buf build --as-file-descriptor-set) from proto/. DO NOT EDIT.',
    '',
    '/** The etcd API (proto/, without concord/) as a serialized google.protobuf.FileDescriptorSet. */',
    'export const fileDescriptorSet: Uint8Array = Uint8Array.from(',
    '  atob(',
    '    [',
    ...lines.map((line) => `      "${line}",`),
    '    ].join(""),',
    '  ),',
    '  (c) => c.charCodeAt(0),',
    ');',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'descriptors.ts'), text);
}

/** Guards the recursive delete: the target must not hold the repo and may hold only generated .ts files. */
function assertSafeToReplace(out) {
  if (root === out || root.startsWith(`${out}${sep}`)) {
    throw new Error(`refusing to replace ${out}: it contains the repository`);
  }
  if (!existsSync(out)) return;
  const stray = listFiles(out).filter((file) => !file.endsWith('.ts'));
  if (stray.length > 0) {
    throw new Error(`refusing to clear ${out}: it holds non-generated files, e.g. ${stray[0]}`);
  }
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

try {
  main();
} catch (err) {
  console.error(`gen-proto: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
