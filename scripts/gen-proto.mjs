#!/usr/bin/env node
// Regenerates the TypeScript protobuf code from proto/ (see buf.gen.yaml for the ts-proto options),
// and src/gen/json/: the SDK's flavour of the etcd API (see JSON_FLAVOUR), and src/gen/wire.ts.
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
    writeJsonFlavour(buf, staging, generated);
    for (const file of listFiles(generated))
      writeFileSync(file, withoutGlobalBuffer(readFileSync(file, 'utf8'), file));
    writeWireMap(generated);
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

/**
 * src/gen/json/: the etcd API (proto/, without concord/) as the SDK uses it. The client builds
 * requests and reads answers through these definitions; the fetch transport needs nothing else
 * (the proto3 JSON mapping), and the gRPC transport swaps each for its binary twin by full name
 * (wireDefinition in src/gen/wire.ts), so a fetch bundle holds no binary codec (124 KiB of the
 * minified bundle were encode/decode the fetch transport never calls).
 *
 * Same message types as src/gen/ (env=node: bytes typed Buffer); like it, rewritten by
 * withoutGlobalBuffer.
 */
const JSON_FLAVOUR = {
  version: 'v2',
  plugins: [
    {
      local: 'node_modules/.bin/protoc-gen-ts_proto',
      out: 'json',
      strategy: 'all',
      opt: [
        'forceLong=bigint',
        'outputServices=generic-definitions',
        'useExactTypes=false',
        'esModuleInterop=true',
        'importSuffix=.js',
        'env=node',
        'outputEncodeMethods=false',
        'outputJsonMethods=true',
        'outputPartialMethods=true',
      ],
    },
  ],
};

/**
 * ts-proto's env=node code calls the global Buffer, which browsers have not: its bytes helpers
 * are replaced by ones that use Buffer where the runtime has it (Node, Deno, Bun: the same
 * Buffers, copies and base64 as before) and atob/btoa and plain Uint8Arrays elsewhere.
 */
const BYTES_HELPERS = `
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/** \`b\` as a Buffer sharing its memory where the runtime has Buffer, else \`b\` itself. */
function asBuffer(b: Uint8Array): Buffer {
  return (NodeBuffer ? NodeBuffer.from(b.buffer, b.byteOffset, b.byteLength) : b) as Buffer;
}

/**
 * What an unset bytes field holds: one shared, frozen empty instance rather than a new one per
 * message (a new Uint8Array wrapped in a Buffer per field showed as 1.2% of a leader's CPU).
 */
const EMPTY_BYTES = Object.freeze(NodeBuffer ? NodeBuffer.from([]) : new Uint8Array(0)) as Buffer;

/** A copy of \`b\` (a Buffer where the runtime has one). */
function copyBuffer(b: Uint8Array): Buffer {
  return (NodeBuffer ? NodeBuffer.from(b) : b.slice()) as Buffer;
}

function bytesFromBase64(b64: string): Buffer {
  if (NodeBuffer) return NodeBuffer.from(b64, "base64");
  const bin = globalThis.atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; ++i) out[i] = bin.charCodeAt(i);
  return out as Buffer;
}

function base64FromBytes(arr: Uint8Array): string {
  if (NodeBuffer) return asBuffer(arr).toString("base64");
  let bin = "";
  for (let i = 0; i < arr.length; i += 0x8000) {
    bin += globalThis.String.fromCharCode(...arr.subarray(i, i + 0x8000));
  }
  return globalThis.btoa(bin);
}
`;

function writeJsonFlavour(buf, staging, dir) {
  const out = join(staging, 'json-flavour');
  const result = spawnSync(
    buf,
    [
      'generate',
      '--template',
      JSON.stringify(JSON_FLAVOUR),
      '--output',
      out,
      '--exclude-path',
      'proto/concord',
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, BUF_CACHE_DIR: process.env.BUF_CACHE_DIR ?? join(staging, '.buf-cache') },
    },
  );
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`buf generate (json flavour) exited with status ${result.status}`);
  const generated = join(out, 'json');
  for (const file of listFiles(generated))
    writeFileSync(file, withoutUnusedDirections(readFileSync(file, 'utf8')));
  cpSync(generated, join(dir, 'json'), { recursive: true });
}

/**
 * The SDK only writes requests (fromPartial, then toJSON) and only reads responses (fromJSON):
 * in src/gen/json/, a top-level `…Request` loses fromJSON and a `…Response` its toJSON, create
 * and fromPartial, each replaced by `unused` (which throws). Messages nested in both directions
 * (KeyValue, RequestOp …) keep all four. About a third of the JSON codecs' bundled size.
 */
function withoutUnusedDirections(text) {
  const lines = text.split('\n');
  const out = [];
  let drop;
  let skipping = false;
  let stripped = 0;
  for (const line of lines) {
    const start = /^export const (\w+): MessageFns<\w+> = \{$/.exec(line);
    if (start) {
      const name = start[1];
      drop = name.endsWith('Request')
        ? ['fromJSON']
        : name.endsWith('Response')
          ? ['toJSON', 'create', 'fromPartial']
          : [];
    } else if (line === '};') {
      drop = undefined;
    }
    if (skipping) {
      if (/^ {2}\},?$/.test(line)) skipping = false;
      continue;
    }
    const method = drop && /^ {2}(\w+)[(<]/.exec(line);
    if (method && drop.includes(method[1])) {
      out.push(`  ${method[1]}: unused,`);
      skipping = !/^ {2}\w+.*\{ *\},?$/.test(line);
      stripped++;
      continue;
    }
    out.push(line);
  }
  if (stripped === 0) return text;
  out.push(
    '/** A codec direction the SDK never uses (see scripts/gen-proto.mjs, withoutUnusedDirections). */',
    'function unused(): never {',
    '  throw new globalThis.Error("this codec direction is not generated for the SDK");',
    '}',
    '',
  );
  return out.join('\n');
}

/** Rewrites ts-proto's env=node bytes code so that it needs no global Buffer (see BYTES_HELPERS). */
function withoutGlobalBuffer(text, file) {
  if (!text.includes('Buffer')) return text;
  const helpers =
    /\nfunction bytesFromBase64\(b64: string\): Uint8Array \{\n.*?\n\}\n\nfunction base64FromBytes\(arr: Uint8Array\): string \{\n.*?\n\}\n/s;
  if (!helpers.test(text))
    throw new Error(`${file}: ts-proto's base64 helpers have changed; update withoutGlobalBuffer`);
  const next = text
    .replace(helpers, BYTES_HELPERS)
    .replaceAll('Buffer.alloc(0)', 'EMPTY_BYTES')
    .replaceAll('Buffer.from(reader.bytes())', 'copyBuffer(reader.bytes())')
    .replace(/Buffer\.from\(bytesFromBase64\(([^()]*)\)\)/g, 'bytesFromBase64($1)');
  const left = next.split('\n').filter((l) => /(?<![\w.])Buffer\.|globalThis\.Buffer\b/.test(l));
  if (left.length > 0) throw new Error(`${file}: a global Buffer use is left: ${left[0].trim()}`);
  return next;
}

/**
 * wire.ts and services.ts, the two sides of the swap (see JSON_FLAVOUR):
 * - services.ts: the service definitions the SDK passes to a transport, those of src/gen/json/
 *   (JSON mapping only), typed as the full ones so that client code keeps the same types;
 * - wire.ts: for the gRPC transport, the full definition of a service by its full name.
 */
function writeWireMap(dir) {
  const wireImports = [];
  const serviceLines = [];
  const names = [];
  for (const file of listFiles(dir)) {
    const rel = file
      .slice(dir.length + 1)
      .split(sep)
      .join('/');
    if (rel.startsWith('json/') || rel.startsWith('concord/') || !rel.endsWith('.ts')) continue;
    const defs = [...readFileSync(file, 'utf8').matchAll(/^export const (\w+Definition) = \{/gm)].map(
      (m) => m[1],
    );
    if (defs.length === 0) continue;
    const mod = rel.replace(/\.ts$/, '.js');
    const alias = mod.split('/')[0];
    wireImports.push(`import { ${defs.join(', ')} } from "./${mod}";`);
    serviceLines.push(
      `import type * as ${alias}Wire from "./${mod}";`,
      `import * as ${alias} from "./json/${mod}";`,
    );
    for (const d of defs)
      serviceLines.push(`export const ${d} = ${alias}.${d} as unknown as typeof ${alias}Wire.${d};`);
    names.push(...defs);
  }
  const header = '// Code generated by scripts/gen-proto.mjs. DO NOT EDIT.';
  const wire = [
    header,
    '',
    ...wireImports,
    '',
    '/** The services with their binary codecs, by full name. */',
    'const WIRE: ReadonlyMap<string, unknown> = new Map<string, unknown>([',
    ...names.map((n) => `  [${n}.fullName, ${n}],`),
    ']);',
    '',
    '/**',
    ' * The definition of the same service with encode/decode, for gRPC: the SDK passes those of',
    ' * services.ts, which have the proto3 JSON mapping only. Others are returned as they are.',
    ' */',
    'export function wireDefinition<D>(definition: D): D {',
    '  const name = (definition as { fullName?: string }).fullName;',
    '  return ((name === undefined ? undefined : WIRE.get(name)) ?? definition) as D;',
    '}',
    '',
  ];
  const services = [
    header,
    '//',
    '// The service definitions the SDK passes to its transport: src/gen/json/ ones (the proto3 JSON',
    '// mapping, no binary codec), typed as the full ones. The gRPC transport swaps each for its',
    '// binary twin (wire.ts); the fetch transport needs nothing more.',
    '',
    ...serviceLines,
    '',
  ];
  writeFileSync(join(dir, 'wire.ts'), wire.join('\n'));
  writeFileSync(join(dir, 'services.ts'), services.join('\n'));
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
