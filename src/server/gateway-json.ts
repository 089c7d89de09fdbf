/**
 * Reads a JSON gateway request body as etcd 3.4's gateway does, so that it accepts what etcd
 * accepts, with the values etcd uses, and refuses the rest with etcd's message. etcd's gateway
 * is grpc-gateway v1: Go's encoding/json Decoder reads one JSON value from the body (a stream
 * reads one after another; whatever follows the value of a unary call is never read), then
 * golang/protobuf's jsonpb (v1.3) fills the request from it:
 *
 * - a message is a JSON object (or null); each field is found by its .proto name or its JSON
 *   name (the JSON name wins when both are given; of a repeated key the last wins); other keys
 *   are ignored; oneof members are read after the other fields;
 * - a 64-bit integer is a JSON number or a JSON string whose contents, quotes dropped without
 *   unescaping, are read as JSON again: `"5"`, `" 5 "` and `"null"` are accepted, `"5.0"`,
 *   `"1e3"`, `"+1"` and anything out of range are refused, and so is `-0` for a uint64;
 * - an enum is its value's name as a JSON string, not unescaped, or any int32 as a number;
 * - bytes are standard, padded base64 (`\r` and `\n` ignored), or a JSON array of byte values;
 * - bool and string take only their own JSON types; null leaves any field unset.
 *
 * Errors are Go's texts (`json: cannot unmarshal number 1e30 into Go value of type int64`,
 * `illegal base64 data at input byte 3`, `invalid character '}' after array element`, …),
 * with Go's type names for etcd's types. JSON nested more than 10,000 deep is refused
 * (`invalid character '[' exceeded max depth`), as Go does.
 *
 * Each field's type comes from the etcd API's descriptors (src/gen/descriptors.ts, built from
 * proto/). The result is a plain object in the generated code's shape (its property names,
 * bigint for 64-bit integers, Buffer for bytes, numbers for enums, unknown values kept), for
 * the generated `fromPartial`.
 */
import {
  createFileRegistry,
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescOneof,
  type FileRegistry,
  fromBinary,
  ScalarType,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { fileDescriptorSet } from '../gen/descriptors.js';

/**
 * Why a body is refused:
 * - `invalid`: etcd's gateway refuses it with `message` (its decoder's error);
 * - `unhandled`: etcd's gateway fails on it without answering (a null element of a repeated
 *   message makes its marshaling panic, and the connection is closed with no response);
 * - `too-deep`: messages nest deeper than MESSAGE_DEPTH_LIMIT (only a txn can).
 */
export type GatewayJsonErrorKind = 'invalid' | 'unhandled' | 'too-deep';

export class GatewayJsonError extends Error {
  constructor(
    readonly kind: GatewayJsonErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayJsonError';
  }
}

/**
 * How deep messages may nest in a request: as deep as the generated decoders go (see
 * DECODE_DEPTH_LIMIT in scripts/gen-proto.mjs). Only TxnRequest nests (two messages a level),
 * and a txn this deep is refused by the server's txn checks anyway (MAX_TXN_DEPTH).
 */
export const MESSAGE_DEPTH_LIMIT = 1000;

/** Go's encoding/json nesting limit. */
const MAX_NESTING_DEPTH = 10_000;

const invalid = (message: string) => new GatewayJsonError('invalid', message);

// ---------------------------------------------------------------------------------------------
// Go's encoding/json scanner (scanner.go), byte by byte, with its error texts.
// ---------------------------------------------------------------------------------------------

const SCAN_CONTINUE = 0;
const SCAN_BEGIN_LITERAL = 1;
const SCAN_BEGIN_OBJECT = 2;
const SCAN_OBJECT_KEY = 3;
const SCAN_OBJECT_VALUE = 4;
const SCAN_END_OBJECT = 5;
const SCAN_BEGIN_ARRAY = 6;
const SCAN_ARRAY_VALUE = 7;
const SCAN_END_ARRAY = 8;
const SCAN_SKIP_SPACE = 9;
const SCAN_END = 10;
const SCAN_ERROR = 11;

const PARSE_OBJECT_KEY = 0;
const PARSE_OBJECT_VALUE = 1;
const PARSE_ARRAY_VALUE = 2;

type Step = (s: Scanner, c: number) => number;

class Scanner {
  step: Step = stateBeginValue;
  parseState: number[] = [];
  err: string | undefined;
  endTop = false;

  /** After the last byte: scanEnd if a whole value was read, else scanError. */
  eof(): number {
    if (this.err !== undefined) return SCAN_ERROR;
    if (this.endTop) return SCAN_END;
    this.step(this, 0x20);
    if (this.endTop) return SCAN_END;
    this.err ??= 'unexpected end of JSON input';
    return SCAN_ERROR;
  }

  push(c: number, state: number, success: number): number {
    this.parseState.push(state);
    if (this.parseState.length <= MAX_NESTING_DEPTH) return success;
    return this.error(c, 'exceeded max depth');
  }

  pop(): void {
    this.parseState.pop();
    if (this.parseState.length === 0) {
      this.step = stateEndTop;
      this.endTop = true;
    } else {
      this.step = stateEndValue;
    }
  }

  error(c: number, context: string): number {
    this.step = stateError;
    this.err = `invalid character ${quoteChar(c)} ${context}`;
    return SCAN_ERROR;
  }
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

function stateBeginValueOrEmpty(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  if (c === 0x5d) return stateEndValue(s, c);
  return stateBeginValue(s, c);
}

function stateBeginValue(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  switch (c) {
    case 0x7b: // {
      s.step = stateBeginStringOrEmpty;
      return s.push(c, PARSE_OBJECT_KEY, SCAN_BEGIN_OBJECT);
    case 0x5b: // [
      s.step = stateBeginValueOrEmpty;
      return s.push(c, PARSE_ARRAY_VALUE, SCAN_BEGIN_ARRAY);
    case 0x22: // "
      s.step = stateInString;
      return SCAN_BEGIN_LITERAL;
    case 0x2d: // -
      s.step = stateNeg;
      return SCAN_BEGIN_LITERAL;
    case 0x30: // 0
      s.step = state0;
      return SCAN_BEGIN_LITERAL;
    case 0x74: // t
      s.step = literal('true', 1);
      return SCAN_BEGIN_LITERAL;
    case 0x66: // f
      s.step = literal('false', 1);
      return SCAN_BEGIN_LITERAL;
    case 0x6e: // n
      s.step = literal('null', 1);
      return SCAN_BEGIN_LITERAL;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return SCAN_BEGIN_LITERAL;
  }
  return s.error(c, 'looking for beginning of value');
}

function stateBeginStringOrEmpty(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  if (c === 0x7d) {
    s.parseState[s.parseState.length - 1] = PARSE_OBJECT_VALUE;
    return stateEndValue(s, c);
  }
  return stateBeginString(s, c);
}

function stateBeginString(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  if (c === 0x22) {
    s.step = stateInString;
    return SCAN_BEGIN_LITERAL;
  }
  return s.error(c, 'looking for beginning of object key string');
}

function stateEndValue(s: Scanner, c: number): number {
  const n = s.parseState.length;
  if (n === 0) {
    s.step = stateEndTop;
    s.endTop = true;
    return stateEndTop(s, c);
  }
  if (isSpace(c)) {
    s.step = stateEndValue;
    return SCAN_SKIP_SPACE;
  }
  switch (s.parseState[n - 1]) {
    case PARSE_OBJECT_KEY:
      if (c === 0x3a) {
        s.parseState[n - 1] = PARSE_OBJECT_VALUE;
        s.step = stateBeginValue;
        return SCAN_OBJECT_KEY;
      }
      return s.error(c, 'after object key');
    case PARSE_OBJECT_VALUE:
      if (c === 0x2c) {
        s.parseState[n - 1] = PARSE_OBJECT_KEY;
        s.step = stateBeginString;
        return SCAN_OBJECT_VALUE;
      }
      if (c === 0x7d) {
        s.pop();
        return SCAN_END_OBJECT;
      }
      return s.error(c, 'after object key:value pair');
    default:
      if (c === 0x2c) {
        s.step = stateBeginValue;
        return SCAN_ARRAY_VALUE;
      }
      if (c === 0x5d) {
        s.pop();
        return SCAN_END_ARRAY;
      }
      return s.error(c, 'after array element');
  }
}

/** After a top-level value: a non-space byte is an error on the next call, as in Go. */
function stateEndTop(s: Scanner, c: number): number {
  if (!isSpace(c)) s.error(c, 'after top-level value');
  return SCAN_END;
}

function stateInString(s: Scanner, c: number): number {
  if (c === 0x22) {
    s.step = stateEndValue;
    return SCAN_CONTINUE;
  }
  if (c === 0x5c) {
    s.step = stateInStringEsc;
    return SCAN_CONTINUE;
  }
  if (c < 0x20) return s.error(c, 'in string literal');
  return SCAN_CONTINUE;
}

function stateInStringEsc(s: Scanner, c: number): number {
  switch (c) {
    case 0x62: // b
    case 0x66: // f
    case 0x6e: // n
    case 0x72: // r
    case 0x74: // t
    case 0x5c: // \
    case 0x2f: // /
    case 0x22: // "
      s.step = stateInString;
      return SCAN_CONTINUE;
    case 0x75: // u
      s.step = escapeU(4);
      return SCAN_CONTINUE;
  }
  return s.error(c, 'in string escape code');
}

const ESCAPE_U: Step[] = [];
/** The state reading the `left` last hex digits of a \u escape. */
function escapeU(left: number): Step {
  ESCAPE_U[left] ??= (s, c) => {
    if (!isHex(c)) return s.error(c, 'in \\u hexadecimal character escape');
    s.step = left === 1 ? stateInString : escapeU(left - 1);
    return SCAN_CONTINUE;
  };
  return ESCAPE_U[left]!;
}

function stateNeg(s: Scanner, c: number): number {
  if (c === 0x30) {
    s.step = state0;
    return SCAN_CONTINUE;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return SCAN_CONTINUE;
  }
  return s.error(c, 'in numeric literal');
}

function state1(s: Scanner, c: number): number {
  if (isDigit(c)) return SCAN_CONTINUE;
  return state0(s, c);
}

function state0(s: Scanner, c: number): number {
  if (c === 0x2e) {
    s.step = stateDot;
    return SCAN_CONTINUE;
  }
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return SCAN_CONTINUE;
  }
  return stateEndValue(s, c);
}

function stateDot(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = stateDot0;
    return SCAN_CONTINUE;
  }
  return s.error(c, 'after decimal point in numeric literal');
}

function stateDot0(s: Scanner, c: number): number {
  if (isDigit(c)) return SCAN_CONTINUE;
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return SCAN_CONTINUE;
  }
  return stateEndValue(s, c);
}

function stateE(s: Scanner, c: number): number {
  if (c === 0x2b || c === 0x2d) {
    s.step = stateESign;
    return SCAN_CONTINUE;
  }
  return stateESign(s, c);
}

function stateESign(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = stateE0;
    return SCAN_CONTINUE;
  }
  return s.error(c, 'in exponent of numeric literal');
}

function stateE0(s: Scanner, c: number): number {
  if (isDigit(c)) return SCAN_CONTINUE;
  return stateEndValue(s, c);
}

const LITERALS = new Map<string, Step>();
/** The state expecting byte `at` of true, false or null. */
function literal(word: string, at: number): Step {
  const key = `${word}${at}`;
  let step = LITERALS.get(key);
  if (!step) {
    const want = word.charCodeAt(at);
    step = (s, c) => {
      if (c !== want) return s.error(c, `in literal ${word} (expecting ${quoteChar(want)})`);
      s.step = at === word.length - 1 ? stateEndValue : literal(word, at + 1);
      return SCAN_CONTINUE;
    };
    LITERALS.set(key, step);
  }
  return step;
}

function stateError(): number {
  return SCAN_ERROR;
}

/** Go's quoteChar: a byte, read as the rune of the same number, in single quotes. */
function quoteChar(c: number): string {
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
function goQuote(b: Uint8Array): string {
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

/** Go's json checkValid: throws Go's syntax error unless b[start, end) is one JSON value. */
function checkValid(b: Uint8Array, start: number, end: number): void {
  const s = new Scanner();
  for (let i = start; i < end; i++) if (s.step(s, b[i]!) === SCAN_ERROR) throw invalid(s.err!);
  if (s.eof() === SCAN_ERROR) throw invalid(s.err!);
}

/** A JSON value in the body: b[start, end), no white space around it. */
interface Span {
  start: number;
  end: number;
}

/**
 * The JSON values of a body, read one at a time as Go's json.Decoder reads them: each call
 * reads only as far as the end of its value, so what follows is not looked at until the next
 * call. `next` returns undefined at the end of the body (white space only), and throws etcd's
 * error for a value that is not JSON (`unexpected EOF` for one cut short); after an error, it
 * throws the same error again.
 */
export class JsonBody {
  private pos = 0;
  private failed: GatewayJsonError | undefined;

  constructor(readonly bytes: Uint8Array) {}

  next(): Span | undefined {
    if (this.failed) throw this.failed;
    const b = this.bytes;
    const s = new Scanner();
    let start = -1;
    for (let i = this.pos; i < b.length; i++) {
      const op = s.step(s, b[i]!);
      if (start < 0 && op !== SCAN_SKIP_SPACE) start = i;
      if (op === SCAN_END) {
        this.pos = i;
        return { start, end: i };
      }
      if ((op === SCAN_END_OBJECT || op === SCAN_END_ARRAY) && stateEndValue(s, 0x20) === SCAN_END) {
        this.pos = i + 1;
        return { start, end: i + 1 };
      }
      if (op === SCAN_ERROR) throw this.fail(s.err!);
    }
    if (s.step(s, 0x20) === SCAN_END) {
      this.pos = b.length;
      return { start, end: b.length };
    }
    for (let i = this.pos; i < b.length; i++) if (!isSpace(b[i]!)) throw this.fail('unexpected EOF');
    this.pos = b.length;
    return undefined;
  }

  private fail(message: string): GatewayJsonError {
    this.failed = invalid(message);
    return this.failed;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading a valid JSON value (already scanned) and Go's json.Unmarshal into one Go type.
// ---------------------------------------------------------------------------------------------

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

/**
 * A valid JSON value being read, with where each of its strings, objects and arrays ends,
 * found in one pass: reading a member never rescans what it holds, however deep.
 */
class Doc {
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
function valueEnd(b: Uint8Array, i: number, limit = b.length): number {
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
function objectMembers(doc: Doc, v: Span, names: NameSet): [string, Span][] {
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
interface NameSet extends ReadonlySet<string> {
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
function arrayElements(doc: Doc, v: Span): Span[] {
  const out: Span[] = [];
  forEachElement(doc, v, (e) => out.push(e));
  return out;
}

const decoder = new TextDecoder();
const utf8 = (b: Uint8Array) => decoder.decode(b);
const latin1 = (b: Uint8Array, v: Span) =>
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
function unquote(b: Uint8Array, v: Span): Uint8Array {
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

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Int16Array(256).fill(-1);
for (let i = 0; i < BASE64.length; i++) BASE64_VALUE[BASE64.charCodeAt(i)] = i;

/**
 * Go's base64.StdEncoding.Decode: padded, \r and \n skipped anywhere, anything else refused
 * with `illegal base64 data at input byte N` (N counts the skipped bytes too).
 */
export function goBase64(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(src.length / 4) * 3);
  let n = 0;
  const corrupt = (at: number) => invalid(`illegal base64 data at input byte ${at}`);
  const isNewline = (c: number | undefined) => c === 0x0a || c === 0x0d;
  let si = 0;
  while (si < src.length) {
    // decodeQuantum: up to four symbols, to up to three bytes.
    let q = 0;
    let dlen = 4;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return out.subarray(0, n);
        throw corrupt(si - j);
      }
      const c = src[si]!;
      si++;
      const value = BASE64_VALUE[c]!;
      if (value >= 0) {
        q |= value << (18 - 6 * j);
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== 0x3d || j < 2) throw corrupt(si - 1);
      if (j === 2) {
        // "==" is expected: the first "=" is read; skip newlines before the second.
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== 0x3d) throw corrupt(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) throw corrupt(si);
      dlen = j;
      break;
    }
    if (dlen > 1) out[n++] = (q >> 16) & 0xff;
    if (dlen > 2) out[n++] = (q >> 8) & 0xff;
    if (dlen > 3) out[n++] = q & 0xff;
  }
  return out.subarray(0, n);
}

/** A Go type a JSON value is unmarshaled into, by its kind and its name in Go's errors. */
interface GoType {
  kind: 'int' | 'uint' | 'bool' | 'string' | 'bytes';
  /** For int and uint: the size in bits. */
  bits?: number;
  name: string;
}

const GO_INT64: GoType = { kind: 'int', bits: 64, name: 'int64' };
const GO_UINT64: GoType = { kind: 'uint', bits: 64, name: 'uint64' };
const GO_INT32: GoType = { kind: 'int', bits: 32, name: 'int32' };
const GO_UINT32: GoType = { kind: 'uint', bits: 32, name: 'uint32' };
const GO_UINT8: GoType = { kind: 'uint', bits: 8, name: 'uint8' };
const GO_BOOL: GoType = { kind: 'bool', name: 'bool' };
const GO_STRING: GoType = { kind: 'string', name: 'string' };
const GO_BYTES: GoType = { kind: 'bytes', name: '[]uint8' };
const GO_MAP = 'map[string]json.RawMessage';
const GO_SLICE = '[]json.RawMessage';

const typeError = (value: string, type: string) =>
  invalid(`json: cannot unmarshal ${value} into Go value of type ${type}`);

/** What a JSON value is, as Go's type errors name it (a number as just "number"). */
function jsonKind(b: Uint8Array, v: Span): string {
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
function unmarshalScalar(
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

// ---------------------------------------------------------------------------------------------
// jsonpb: a message from a JSON object, field by field.
// ---------------------------------------------------------------------------------------------

/** Go's name of a message or enum of etcd's API: package, then the nested names joined by _. */
function goName(d: DescMessage | DescEnum, qualified = true): string {
  const pkg = d.file.proto.package;
  const name = d.typeName.slice(pkg.length + 1).replaceAll('.', '_');
  return qualified ? `${pkg}.${name}` : name;
}

/** Go's name of a oneof's interface type, e.g. etcdserverpb.isCompare_TargetUnion. */
function goOneofName(o: DescOneof): string {
  const camel = o.name
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  return `${o.parent.file.proto.package}.is${goName(o.parent, false)}_${camel}`;
}

function scalarType(t: ScalarType): GoType {
  switch (t) {
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return GO_INT64;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return GO_UINT64;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return GO_INT32;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return GO_UINT32;
    case ScalarType.BOOL:
      return GO_BOOL;
    case ScalarType.STRING:
      return GO_STRING;
    case ScalarType.BYTES:
      return GO_BYTES;
    default:
      // No request of etcd's API has a float or double.
      throw new Error(`gateway-json: unsupported scalar type ${ScalarType[t]}`);
  }
}

/** The generated code's value for a scalar Go left at its zero value. */
function zero(t: GoType): bigint | number | boolean | string | Buffer {
  if (t.kind === 'bool') return false;
  if (t.kind === 'string') return '';
  if (t.kind === 'bytes') return Buffer.alloc(0);
  return t.bits === 64 ? 0n : 0;
}

/** A scalar field's value (as the generated code holds it), or undefined for null. */
function scalar(doc: Doc, v: Span, t: ScalarType): unknown {
  const b = doc.b;
  const go = scalarType(t);
  let span = v;
  // jsonpb: a quoted number has its quotes dropped (nothing unescaped) and is read again.
  if ((go.kind === 'int' || go.kind === 'uint') && b[v.start] === 0x22) {
    checkValid(b, v.start + 1, v.end - 1);
    const start = skipSpace(b, v.start + 1);
    span = { start, end: valueEnd(b, start, v.end - 1) };
  }
  return unmarshalScalar(doc, span, go);
}

/** An enum field's number, or undefined for null: a value's name as a string, or any int32. */
function enumValue(doc: Doc, v: Span, e: DescEnum): number | undefined {
  const b = doc.b;
  if (b[v.start] === 0x22) {
    // jsonpb does not unescape the name.
    const name = b.subarray(v.start + 1, v.end - 1);
    const found = e.values.find((x) => x.name === latin1(b, { start: v.start + 1, end: v.end - 1 }));
    if (!found) throw invalid(`unknown value ${goQuote(name)} for enum ${goName(e)}`);
    return found.number;
  }
  const n = unmarshalScalar(doc, v, { kind: 'int', bits: 32, name: goName(e) });
  return n === undefined ? undefined : Number(n);
}

/** A field's value, or undefined to leave it unset. */
function fieldValue(doc: Doc, v: Span, f: DescField, depth: number): unknown {
  const b = doc.b;
  switch (f.fieldKind) {
    case 'scalar':
      return scalar(doc, v, f.scalar);
    case 'enum':
      return enumValue(doc, v, f.enum);
    case 'message':
      return b[v.start] === 0x6e ? undefined : message(doc, v, f.message, depth + 1);
    case 'list': {
      const c = b[v.start];
      if (c === 0x6e) return undefined;
      if (c !== 0x5b) throw typeError(jsonKind(b, v), GO_SLICE);
      return arrayElements(doc, v).map((e) => {
        if (f.listKind === 'message') {
          if (b[e.start] === 0x6e) {
            throw new GatewayJsonError('unhandled', `a null element of repeated ${f.message.typeName}`);
          }
          return message(doc, e, f.message, depth + 1);
        }
        // A null element is left at its zero value.
        if (f.listKind === 'enum') return enumValue(doc, e, f.enum) ?? 0;
        return scalar(doc, e, f.scalar) ?? zero(scalarType(f.scalar));
      });
    }
    default:
      // No request of etcd's API has a map.
      throw new Error(`gateway-json: unsupported field ${f.parent.typeName}.${f.name}`);
  }
}

const NAMES = new WeakMap<DescMessage, NameSet>();

/** The keys jsonpb reads a message by: each field's .proto and JSON names, each oneof's name. */
function namesOf(d: DescMessage): NameSet {
  let names = NAMES.get(d);
  if (!names) {
    const all = [...d.fields.flatMap((f) => [f.name, f.jsonName]), ...d.oneofs.map((o) => o.name)];
    names = Object.assign(new Set(all), { longest: Math.max(0, ...all.map((n) => n.length)) });
    NAMES.set(d, names);
  }
  return names;
}

/**
 * A message from a valid JSON value (jsonpb's unmarshalValue for a message): a plain object
 * with the generated code's property names.
 */
function message(doc: Doc, v: Span, d: DescMessage, depth: number): Record<string, unknown> {
  const b = doc.b;
  if (depth > MESSAGE_DEPTH_LIMIT) throw new GatewayJsonError('too-deep', `${d.typeName} nested too deep`);
  const c = b[v.start];
  const out: Record<string, unknown> = {};
  if (c === 0x6e) return out;
  if (c !== 0x7b) throw typeError(jsonKind(b, v), GO_MAP);
  const fields = new Map(objectMembers(doc, v, namesOf(d)));
  /** jsonpb's consumeField: the value by .proto name or JSON name (which wins), both taken. */
  const take = (orig: string, camel: string): Span | undefined => {
    const value = fields.get(camel) ?? fields.get(orig);
    fields.delete(orig);
    fields.delete(camel);
    return value;
  };
  // The fields in the order of the Go struct; a oneof there is its interface, by the oneof's name.
  for (const m of d.members) {
    if (m.kind === 'oneof') {
      const value = take(m.name, m.name);
      if (value !== undefined && b[value.start] !== 0x6e) throw typeError(jsonKind(b, value), goOneofName(m));
      continue;
    }
    const value = take(m.name, m.jsonName);
    if (value === undefined) continue;
    const x = fieldValue(doc, value, m, depth);
    if (x !== undefined) out[m.localName] = x;
  }
  // Then each oneof member given. Go takes them in map order, so when two members of one oneof
  // are given, which one etcd keeps varies from call to call; here the last declared wins.
  for (const o of d.oneofs) {
    for (const f of o.fields) {
      const value = take(f.name, f.jsonName);
      if (value === undefined) continue;
      for (const g of o.fields) delete out[g.localName];
      // Go sets the member even to null: a scalar is then its zero value, a message nothing.
      const x = fieldValue(doc, value, f, depth);
      if (x !== undefined) out[f.localName] = x;
      else if (f.fieldKind === 'scalar') out[f.localName] = zero(scalarType(f.scalar));
      else if (f.fieldKind === 'enum') out[f.localName] = 0;
    }
  }
  return out;
}

/**
 * The request in a JSON value of a gateway body, for the generated `fromPartial` of type d.
 * Throws a GatewayJsonError where etcd's gateway refuses the value.
 */
export function gatewayRequest(body: JsonBody, value: Span, d: DescMessage): Record<string, unknown> {
  return message(new Doc(body.bytes, value), value, d, 1);
}

let registry: FileRegistry | undefined;

/** The request message of a gRPC method of etcd's API, e.g. ('etcdserverpb.KV', 'Range'). */
export function requestType(service: string, method: string): DescMessage {
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, fileDescriptorSet));
  const m = registry.getService(service)?.methods.find((x) => x.name === method);
  if (!m) throw new Error(`gateway-json: no method ${service}/${method} in the descriptors`);
  return m.input;
}
