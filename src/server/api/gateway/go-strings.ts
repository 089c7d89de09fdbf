/**
 * Go's text handling that etcd's answers show: utf8.DecodeRune, strconv's quoting (the `'}'` and
 * `"\xff"` in Go's error texts) and encoding/json's unquoting of a string (escapes resolved,
 * invalid UTF-8 replaced by U+FFFD, as Go stores the value). JavaScript's own decoders differ
 * from Go's on invalid input, which is what a hostile body holds.
 */
import type { Span } from './go-json.js';

/** Go's quoteChar: a byte, read as the rune of the same number, in single quotes. */
export function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  return `'${escapeRune(c, 0x22)}'`;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** strconv's appendEscapedRune: a rune as strconv.Quote writes it between its quotes. */
function escapeRune(r: number, quote: number): string {
  if (r === quote || r === 0x5c) return `\\${String.fromCharCode(r)}`;
  if (r === 0x20 || PRINTABLE.test(String.fromCodePoint(r))) return String.fromCodePoint(r);
  switch (r) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return `\\x${r.toString(16).padStart(2, '0')}`;
  if (r < 0x10000) return `\\u${r.toString(16).padStart(4, '0')}`;
  return `\\U${r.toString(16).padStart(8, '0')}`;
}

/** Go's strconv.Quote of a byte string (fmt's %q): invalid UTF-8 bytes as \x escapes. */
export function goQuote(b: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const [r, size] = decodeRune(b, i);
    out += r === 0xfffd && size === 1 ? `\\x${b[i]!.toString(16).padStart(2, '0')}` : escapeRune(r, 0x22);
    i += size;
  }
  return `${out}"`;
}

/** Go's utf8.DecodeRune: the rune at i and its size; an invalid byte is (U+FFFD, 1). */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  const cont = (j: number, lo = 0x80, hi = 0xbf) => i + j < b.length && b[i + j]! >= lo && b[i + j]! <= hi;
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    if (cont(1)) return [((c0 & 0x1f) << 6) | (b[i + 1]! & 0x3f), 2];
  } else if (c0 >= 0xe0 && c0 <= 0xef) {
    const lo = c0 === 0xe0 ? 0xa0 : 0x80;
    const hi = c0 === 0xed ? 0x9f : 0xbf;
    if (cont(1, lo, hi) && cont(2)) {
      return [((c0 & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f), 3];
    }
  } else if (c0 >= 0xf0 && c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80;
    const hi = c0 === 0xf4 ? 0x8f : 0xbf;
    if (cont(1, lo, hi) && cont(2) && cont(3)) {
      const r =
        ((c0 & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
      return [r, 4];
    }
  }
  return [0xfffd, 1];
}

const decoder = new TextDecoder();
export const utf8 = (b: Uint8Array) => decoder.decode(b);
export const latin1 = (b: Uint8Array, v: Span) =>
  Buffer.from(b.buffer, b.byteOffset + v.start, v.end - v.start).toString('latin1');

/** The bytes of the one-letter escapes of JSON strings, by letter (\\, \/ and \" are themselves). */
const ESCAPES = new Uint8Array(128);
for (const [letter, byte] of [
  ['b', 0x08],
  ['f', 0x0c],
  ['n', 0x0a],
  ['r', 0x0d],
  ['t', 0x09],
] as const) {
  ESCAPES[letter.charCodeAt(0)] = byte;
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}

/**
 * Go's json unquote of a valid JSON string: escapes resolved, a lone surrogate escape and
 * each byte of invalid UTF-8 replaced by U+FFFD.
 */
export function unquote(b: Uint8Array, v: Span): Uint8Array {
  const last = v.end - 1;
  let plain = v.start + 1;
  while (plain < last && b[plain] !== 0x5c && b[plain]! < 0x80) plain++;
  if (plain === last) return b.subarray(v.start + 1, last);
  // No longer than three times the quoted text (an invalid byte becomes three).
  const out = Buffer.allocUnsafe(3 * (last - v.start));
  out.set(b.subarray(v.start + 1, plain));
  let w = plain - (v.start + 1);
  const put = (r: number) => {
    if (r < 0x80) {
      out[w++] = r;
    } else if (r < 0x800) {
      out[w++] = 0xc0 | (r >> 6);
      out[w++] = 0x80 | (r & 0x3f);
    } else if (r < 0x10000) {
      out[w++] = 0xe0 | (r >> 12);
      out[w++] = 0x80 | ((r >> 6) & 0x3f);
      out[w++] = 0x80 | (r & 0x3f);
    } else {
      out[w++] = 0xf0 | (r >> 18);
      out[w++] = 0x80 | ((r >> 12) & 0x3f);
      out[w++] = 0x80 | ((r >> 6) & 0x3f);
      out[w++] = 0x80 | (r & 0x3f);
    }
  };
  const hex4 = (i: number) =>
    (hexValue(b[i]!) << 12) | (hexValue(b[i + 1]!) << 8) | (hexValue(b[i + 2]!) << 4) | hexValue(b[i + 3]!);
  for (let i = plain; i < last; ) {
    const c = b[i]!;
    if (c === 0x5c) {
      const e = b[i + 1]!;
      if (e === 0x75) {
        let r = hex4(i + 2);
        i += 6;
        if (r >= 0xd800 && r < 0xe000) {
          const r2 = b[i] === 0x5c && b[i + 1] === 0x75 ? hex4(i + 2) : -1;
          if (r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000) {
            r = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
            i += 6;
          } else {
            r = 0xfffd;
          }
        }
        put(r);
      } else {
        out[w++] = ESCAPES[e] || e;
        i += 2;
      }
    } else if (c < 0x80) {
      out[w++] = c;
      i++;
    } else {
      const [r, size] = decodeRune(b, i);
      if (r === 0xfffd && size === 1) put(r);
      else for (let j = 0; j < size; j++) out[w++] = b[i + j]!;
      i += size;
    }
  }
  return out.subarray(0, w);
}
