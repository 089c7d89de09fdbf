/**
 * Reading a JSON value the scanner has already checked, and Go's json.Unmarshal of one into a Go
 * scalar, with Go's type errors (`json: cannot unmarshal number 1e30 into Go value of type
 * int64`). Reading never rescans: a body is scanned once, and each object or array is then
 * walked by the ends found in one pass, however deep it nests.
 */
import { invalid } from './gateway-json-error.js';
import { goBase64 } from './go-base64.js';
import { isDigit, isSpace, type Span } from './go-json.js';
import { latin1, unquote, utf8 } from './go-strings.js';

export function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

/**
 * A valid JSON value being read, with where each of its strings, objects and arrays ends,
 * found in one pass: reading a member never rescans what it holds, however deep.
 */
export class Doc {
  private readonly ends: Int32Array;

  constructor(
    readonly b: Uint8Array,
    readonly value: Span,
  ) {
    const { start, end } = value;
    this.ends = new Int32Array(end - start);
    const open: number[] = [];
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c === 0x22) {
        const at = i;
        for (i++; b[i] !== 0x22; i++) if (b[i] === 0x5c) i++;
        this.ends[at - start] = i + 1;
      } else if (c === 0x7b || c === 0x5b) {
        open.push(i);
      } else if (c === 0x7d || c === 0x5d) {
        this.ends[open.pop()! - start] = i + 1;
      }
    }
  }

  /** Where the value starting at i ends. */
  end(i: number): number {
    return this.ends[i - this.value.start] || valueEnd(this.b, i, this.value.end);
  }
}

/** Where the valid JSON value starting at i ends (a number, true, false or null by `limit`). */
export function valueEnd(b: Uint8Array, i: number, limit = b.length): number {
  const first = b[i];
  if (first !== 0x22 && first !== 0x7b && first !== 0x5b) {
    while (i < limit && !isSpace(b[i]!) && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d) i++;
    return i;
  }
  let depth = 0;
  for (; i < limit; i++) {
    const c = b[i]!;
    if (c === 0x22) {
      for (i++; b[i] !== 0x22; i++) if (b[i] === 0x5c) i++;
      if (depth === 0) return i + 1;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    } else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
      return i + 1;
    }
  }
  return i;
}

/**
 * The members of a valid JSON object whose keys, unquoted, are in `names`, in order. Other keys
 * are skipped without being unquoted when they cannot be one of `names`.
 */
export function objectMembers(doc: Doc, v: Span, names: NameSet): [string, Span][] {
  const b = doc.b;
  const out: [string, Span][] = [];
  let i = skipSpace(b, v.start + 1);
  while (b[i] !== 0x7d) {
    const keyEnd = doc.end(i);
    const start = skipSpace(b, skipSpace(b, keyEnd) + 1);
    const end = doc.end(start);
    const key = objectKey(b, i, keyEnd, names.longest);
    if (key !== undefined && names.has(key)) out.push([key, { start, end }]);
    i = skipSpace(b, end);
    if (b[i] === 0x2c) i = skipSpace(b, i + 1);
  }
  return out;
}

/** The names a message's JSON object is read by, and the length of the longest. */
export interface NameSet extends ReadonlySet<string> {
  longest: number;
}

/**
 * An object key unquoted, or undefined when it is plain ASCII longer than `longest` (so it is
 * none of the names looked for).
 */
function objectKey(b: Uint8Array, start: number, end: number, longest: number): string | undefined {
  let key = '';
  for (let i = start + 1; i < end - 1; i++) {
    const c = b[i]!;
    if (c === 0x5c || c >= 0x80) return utf8(unquote(b, { start, end }));
    if (key.length === longest) return undefined;
    key += String.fromCharCode(c);
  }
  return key;
}

/** Calls f with each element of a valid JSON array, in order (f may keep its span). */
function forEachElement(doc: Doc, v: Span, f: (element: Span) => void): void {
  const b = doc.b;
  let i = skipSpace(b, v.start + 1);
  while (b[i] !== 0x5d) {
    const end = doc.end(i);
    f({ start: i, end });
    i = skipSpace(b, end);
    if (b[i] === 0x2c) i = skipSpace(b, i + 1);
  }
}

/** The elements of a valid JSON array. */
export function arrayElements(doc: Doc, v: Span): Span[] {
  const out: Span[] = [];
  forEachElement(doc, v, (e) => out.push(e));
  return out;
}

/** A Go type a JSON value is unmarshaled into, by its kind and its name in Go's errors. */
export interface GoType {
  kind: 'int' | 'uint' | 'bool' | 'string' | 'bytes';
  /** For int and uint: the size in bits. */
  bits?: number;
  name: string;
}

export const GO_INT64: GoType = { kind: 'int', bits: 64, name: 'int64' };
export const GO_UINT64: GoType = { kind: 'uint', bits: 64, name: 'uint64' };
export const GO_INT32: GoType = { kind: 'int', bits: 32, name: 'int32' };
export const GO_UINT32: GoType = { kind: 'uint', bits: 32, name: 'uint32' };
const GO_UINT8: GoType = { kind: 'uint', bits: 8, name: 'uint8' };
export const GO_BOOL: GoType = { kind: 'bool', name: 'bool' };
export const GO_STRING: GoType = { kind: 'string', name: 'string' };
export const GO_BYTES: GoType = { kind: 'bytes', name: '[]uint8' };
export const GO_MAP = 'map[string]json.RawMessage';
export const GO_SLICE = '[]json.RawMessage';

export const typeError = (value: string, type: string) =>
  invalid(`json: cannot unmarshal ${value} into Go value of type ${type}`);

/** What a JSON value is, as Go's type errors name it (a number as just "number"). */
export function jsonKind(b: Uint8Array, v: Span): string {
  switch (b[v.start]) {
    case 0x7b:
      return 'object';
    case 0x5b:
      return 'array';
    case 0x22:
      return 'string';
    case 0x74:
    case 0x66:
      return 'bool';
    default:
      return 'number';
  }
}

/**
 * Go's json.Unmarshal of a valid JSON value into a scalar of type t: the value, or undefined
 * for null (which leaves a Go scalar as it was).
 */
export function unmarshalScalar(
  doc: Doc,
  v: Span,
  t: GoType,
): bigint | number | boolean | string | Buffer | undefined {
  const b = doc.b;
  const c = b[v.start];
  if (c === 0x6e) return undefined;
  if (c === 0x74 || c === 0x66) {
    if (t.kind === 'bool') return c === 0x74;
    throw typeError('bool', t.name);
  }
  if (c === 0x22) {
    if (t.kind === 'string') return utf8(unquote(b, v));
    if (t.kind === 'bytes') return goBase64(unquote(b, v));
    throw typeError('string', t.name);
  }
  if (c === 0x5b) {
    if (t.kind !== 'bytes') throw typeError('array', t.name);
    // Go fills a []byte from an array of byte values too (null leaves a byte 0).
    const out: number[] = [];
    forEachElement(doc, v, (e) => out.push(Number(unmarshalScalar(doc, e, GO_UINT8) ?? 0)));
    return Buffer.from(out);
  }
  if (c === 0x7b) throw typeError('object', t.name);
  if (t.kind !== 'int' && t.kind !== 'uint') throw typeError('number', t.name);
  const n = integer(b, v, t);
  if (n === undefined) throw typeError(`number ${latin1(b, v)}`, t.name);
  return n;
}

/**
 * strconv.ParseInt (ParseUint for uint) of a JSON number in base 10, in t's range: a number
 * for 32 bits or less, a bigint for 64; undefined if it is not such an integer.
 */
function integer(b: Uint8Array, v: Span, t: GoType): number | bigint | undefined {
  const signed = t.kind === 'int';
  const negative = b[v.start] === 0x2d;
  if (negative && !signed) return undefined;
  let small = 0;
  for (let i = negative ? v.start + 1 : v.start; i < v.end; i++) {
    const c = b[i]!;
    if (!isDigit(c)) return undefined;
    small = small * 10 + (c - 0x30);
  }
  if (t.bits! <= 32) {
    const limit = signed ? 2 ** (t.bits! - 1) : 2 ** t.bits!;
    return negative ? (small <= limit ? -small + 0 : undefined) : small < limit ? small : undefined;
  }
  const n = Number.isSafeInteger(small) ? BigInt(small) : BigInt(latin1(b, v).slice(negative ? 1 : 0));
  const limit = signed ? INT64_LIMIT : UINT64_LIMIT;
  return negative ? (n <= limit ? -n : undefined) : n < limit ? n : undefined;
}

const INT64_LIMIT = 1n << 63n;
const UINT64_LIMIT = 1n << 64n;
