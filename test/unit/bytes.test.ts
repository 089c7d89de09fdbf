/**
 * src/client/bytes.ts with and without a global Buffer: in Node its bytes are Buffers (what the
 * public types promise); in a context with no Buffer (a browser's), the same calls give plain
 * Uint8Arrays with the same contents, and text round-trips through TextEncoder/TextDecoder.
 */
import path from 'node:path';
import vm from 'node:vm';
import { build } from 'esbuild';
import * as bytes from '../../src/client/bytes.js';
import { ROOT } from '../harness/fixtures.js';

type Bytes = typeof bytes;

/** bytes.ts bundled and run in a fresh context that has no Buffer. */
async function withoutBuffer(): Promise<Bytes> {
  const r = await build({
    entryPoints: [path.join(ROOT, 'src/client/bytes.ts')],
    bundle: true,
    format: 'iife',
    globalName: 'bytes',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const context = vm.createContext({ TextEncoder, TextDecoder });
  vm.runInContext(r.outputFiles[0]!.text, context);
  expect(vm.runInContext('typeof Buffer', context)).toBe('undefined');
  return context.bytes as Bytes;
}

/** The same calls on either module, as plain values. */
function exercise(b: Bytes) {
  const key = b.toBuffer('clé/');
  const kind = (x: Uint8Array) => x.constructor.name;
  return {
    key: Array.from(key),
    kinds: [kind(key), kind(b.concat(key, b.toBuffer('x'))), kind(b.prefixEnd(key)), kind(b.ZERO)],
    text: b.utf8(b.toBuffer('héllo wörld ✓')),
    malformed: b.utf8(Uint8Array.of(0x61, 0xff, 0x62)),
    prefixEnd: Array.from(b.prefixEnd(Uint8Array.of(0x61, 0xff))),
    all: Array.from(b.prefixEnd(Uint8Array.of(0xff, 0xff))),
    hex: b.hex(Uint8Array.of(0, 15, 255)),
    order: [
      b.compareBytes(b.toBuffer('a'), b.toBuffer('ab')) < 0,
      b.compareBytes(b.toBuffer('b'), b.toBuffer('ab')) > 0,
    ],
    equal: [
      b.equalBytes(b.toBuffer('k'), Uint8Array.of(0x6b)),
      b.equalBytes(b.toBuffer('k'), b.toBuffer('kk')),
    ],
    startsWith: [
      b.startsWith(b.toBuffer('app/x'), b.toBuffer('app/')),
      b.startsWith(b.toBuffer('ap'), b.toBuffer('app/')),
    ],
  };
}

test('in Node, bytes are Buffers', () => {
  const r = exercise(bytes);
  expect(r.kinds).toEqual(['Buffer', 'Buffer', 'Buffer', 'Buffer']);
  expect(Buffer.isBuffer(bytes.copyBytes(Uint8Array.of(1)))).toBe(true);
});

test('with no global Buffer, the same results as plain Uint8Arrays', async () => {
  const inNode = exercise(bytes);
  const inBrowser = exercise(await withoutBuffer());
  expect(inBrowser.kinds).toEqual(['Uint8Array', 'Uint8Array', 'Uint8Array', 'Uint8Array']);
  expect({ ...inBrowser, kinds: [] }).toEqual({ ...inNode, kinds: [] });
  expect(inNode).toMatchObject({
    text: 'héllo wörld ✓',
    malformed: 'a\uFFFDb',
    prefixEnd: [0x62],
    all: [0],
    hex: '000fff',
    order: [true, true],
    equal: [true, false],
    startsWith: [true, false],
  });
});

test('a copy does not share memory; a view does', () => {
  const src = Uint8Array.of(1, 2, 3);
  const copy = bytes.copyBytes(src);
  const view = bytes.asBuffer(src);
  src[0] = 9;
  expect([copy[0], view[0]]).toEqual([1, 9]);
});
