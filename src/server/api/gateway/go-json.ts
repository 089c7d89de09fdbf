/**
 * Go's encoding/json scanner (scanner.go), byte by byte, with its error texts, and json.Decoder
 * over it. A port rather than JSON.parse: etcd's answer to a body depends on exactly where Go
 * stops reading (whatever follows a unary call's value is never read) and on the words of Go's
 * syntax errors (`invalid character '}' after array element`, `unexpected EOF`). JSON nested
 * more than 10,000 deep is refused as Go refuses it (`invalid character '[' exceeded max depth`).
 */
import { type GatewayJsonError, invalid } from './gateway-json-error.js';
import { quoteChar } from './go-strings.js';

/** Go's encoding/json nesting limit. */
const MAX_NESTING_DEPTH = 10_000;

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

  /** Moves to `step`, answering `op` for this byte: a state's one way out to another. */
  to(step: Step, op = SCAN_CONTINUE): number {
    this.step = step;
    return op;
  }

  error(c: number, context: string): number {
    this.step = stateError;
    this.err = `invalid character ${quoteChar(c)} ${context}`;
    return SCAN_ERROR;
  }
}

export const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
export const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
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
      return s.to(stateInString, SCAN_BEGIN_LITERAL);
    case 0x2d: // -
      return s.to(stateNeg, SCAN_BEGIN_LITERAL);
    case 0x30: // 0
      return s.to(state0, SCAN_BEGIN_LITERAL);
    case 0x74: // t
      return s.to(literal('true', 1), SCAN_BEGIN_LITERAL);
    case 0x66: // f
      return s.to(literal('false', 1), SCAN_BEGIN_LITERAL);
    case 0x6e: // n
      return s.to(literal('null', 1), SCAN_BEGIN_LITERAL);
  }
  if (c >= 0x31 && c <= 0x39) return s.to(state1, SCAN_BEGIN_LITERAL);
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
  if (c === 0x22) return s.to(stateInString, SCAN_BEGIN_LITERAL);
  return s.error(c, 'looking for beginning of object key string');
}

function stateEndValue(s: Scanner, c: number): number {
  const n = s.parseState.length;
  if (n === 0) {
    s.step = stateEndTop;
    s.endTop = true;
    return stateEndTop(s, c);
  }
  if (isSpace(c)) return s.to(stateEndValue, SCAN_SKIP_SPACE);
  switch (s.parseState[n - 1]) {
    case PARSE_OBJECT_KEY:
      if (c === 0x3a) {
        s.parseState[n - 1] = PARSE_OBJECT_VALUE;
        return s.to(stateBeginValue, SCAN_OBJECT_KEY);
      }
      return s.error(c, 'after object key');
    case PARSE_OBJECT_VALUE:
      if (c === 0x2c) {
        s.parseState[n - 1] = PARSE_OBJECT_KEY;
        return s.to(stateBeginString, SCAN_OBJECT_VALUE);
      }
      if (c === 0x7d) {
        s.pop();
        return SCAN_END_OBJECT;
      }
      return s.error(c, 'after object key:value pair');
    default:
      if (c === 0x2c) return s.to(stateBeginValue, SCAN_ARRAY_VALUE);
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
  if (c === 0x22) return s.to(stateEndValue);
  if (c === 0x5c) return s.to(stateInStringEsc);
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
      return s.to(stateInString);
    case 0x75: // u
      return s.to(escapeU(4));
  }
  return s.error(c, 'in string escape code');
}

const ESCAPE_U: Step[] = [];
/** The state reading the `left` last hex digits of a \u escape. */
function escapeU(left: number): Step {
  ESCAPE_U[left] ??= (s, c) => {
    if (!isHex(c)) return s.error(c, 'in \\u hexadecimal character escape');
    return s.to(left === 1 ? stateInString : escapeU(left - 1));
  };
  return ESCAPE_U[left]!;
}

function stateNeg(s: Scanner, c: number): number {
  if (c === 0x30) return s.to(state0);
  if (c >= 0x31 && c <= 0x39) return s.to(state1);
  return s.error(c, 'in numeric literal');
}

function state1(s: Scanner, c: number): number {
  if (isDigit(c)) return SCAN_CONTINUE;
  return state0(s, c);
}

function state0(s: Scanner, c: number): number {
  if (c === 0x2e) return s.to(stateDot);
  if (c === 0x65 || c === 0x45) return s.to(stateE);
  return stateEndValue(s, c);
}

/** A state that needs a digit, moving on to `then` on one: after '.', and after an exponent. */
function digitThen(then: Step, context: string): Step {
  return (s, c) => (isDigit(c) ? s.to(then) : s.error(c, context));
}

const stateDot = digitThen(stateDot0, 'after decimal point in numeric literal');

function stateDot0(s: Scanner, c: number): number {
  if (isDigit(c)) return SCAN_CONTINUE;
  if (c === 0x65 || c === 0x45) return s.to(stateE);
  return stateEndValue(s, c);
}

function stateE(s: Scanner, c: number): number {
  if (c === 0x2b || c === 0x2d) return s.to(stateESign);
  return stateESign(s, c);
}

const stateESign = digitThen(stateE0, 'in exponent of numeric literal');

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
      return s.to(at === word.length - 1 ? stateEndValue : literal(word, at + 1));
    };
    LITERALS.set(key, step);
  }
  return step;
}

function stateError(): number {
  return SCAN_ERROR;
}

/** Go's json checkValid: throws Go's syntax error unless b[start, end) is one JSON value. */
export function checkValid(b: Uint8Array, start: number, end: number): void {
  const s = new Scanner();
  for (let i = start; i < end; i++) if (s.step(s, b[i]!) === SCAN_ERROR) throw invalid(s.err!);
  if (s.eof() === SCAN_ERROR) throw invalid(s.err!);
}

/** A JSON value in the body: b[start, end), no white space around it. */
export interface Span {
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
