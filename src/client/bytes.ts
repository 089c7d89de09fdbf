/**
 * Keys and values as bytes. etcd compares keys bytewise; strings are UTF-8 encoded.
 *
 * No global `Buffer` is needed: bytes are `Uint8Array`s, and become Buffers (a view, not a copy)
 * where the runtime has Buffer (Node, Deno, Bun), so Node callers get the Buffers the types
 * promise while a browser gets the Uint8Array a Buffer extends. Text goes through
 * TextEncoder/TextDecoder, which replace malformed UTF-8 with U+FFFD as Buffer does.
 */

/** A key: a string (UTF-8) or raw bytes. */
export type Key = string | Uint8Array;
/** A value: a string (UTF-8) or raw bytes. */
export type Value = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/** `b` as a Buffer where the runtime has one (sharing its memory), else `b` itself. */
export function asBuffer(b: Uint8Array): Buffer {
  if (!NodeBuffer || NodeBuffer.isBuffer(b)) return b as Buffer;
  return NodeBuffer.from(b.buffer, b.byteOffset, b.byteLength);
}

const EMPTY = asBuffer(new Uint8Array(0));
/** `"\0"` as a range end means "every key from the start key on". */
export const ZERO = asBuffer(Uint8Array.of(0));

/** A key or value as bytes (strings UTF-8 encoded; bytes shared, not copied). */
export function toBuffer(k: Key | undefined): Buffer {
  if (k === undefined) return EMPTY;
  return asBuffer(typeof k === 'string' ? encoder.encode(k) : k);
}

/** A fresh copy of `b`. */
export function copyBytes(b: Uint8Array): Buffer {
  return asBuffer(Uint8Array.prototype.slice.call(b));
}

/** `b` decoded as UTF-8. */
export function utf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/** `b` in lowercase hex. */
export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Bytewise order, as etcd orders keys: negative when `a` sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/**
 * The smallest key greater than every key starting with `prefix` (etcd's `GetPrefixRangeEnd`):
 * drop trailing 0xff bytes and increment the last one; `"\0"` (to the end) when none is left.
 */
export function prefixEnd(prefix: Uint8Array): Buffer {
  let i = prefix.length - 1;
  while (i >= 0 && prefix[i] === 0xff) i--;
  if (i < 0) return ZERO;
  const end = copyBytes(prefix.subarray(0, i + 1));
  end[i]! += 1;
  return end;
}

export function concat(a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length === 0) return asBuffer(b);
  if (b.length === 0) return asBuffer(a);
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return asBuffer(out);
}

export function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}
