/**
 * Keys and values as bytes. etcd compares keys bytewise; strings are UTF-8 encoded.
 */

/** A key: a string (UTF-8) or raw bytes. */
export type Key = string | Uint8Array;
/** A value: a string (UTF-8) or raw bytes. */
export type Value = string | Uint8Array;

const EMPTY = Buffer.alloc(0);
/** `"\0"` as a range end means "every key from the start key on". */
export const ZERO = Buffer.from([0]);

export function toBuffer(k: Key | undefined): Buffer {
  if (k === undefined) return EMPTY;
  if (typeof k === 'string') return Buffer.from(k, 'utf8');
  return Buffer.isBuffer(k) ? k : Buffer.from(k.buffer, k.byteOffset, k.byteLength);
}

/**
 * The smallest key greater than every key starting with `prefix` (etcd's `GetPrefixRangeEnd`):
 * drop trailing 0xff bytes and increment the last one; `"\0"` (to the end) when none is left.
 */
export function prefixEnd(prefix: Buffer): Buffer {
  let i = prefix.length - 1;
  while (i >= 0 && prefix[i] === 0xff) i--;
  if (i < 0) return ZERO;
  const end = Buffer.from(prefix.subarray(0, i + 1));
  end[i]! += 1;
  return end;
}

export function concat(a: Buffer, b: Buffer): Buffer {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return Buffer.concat([a, b]);
}

export function startsWith(b: Buffer, prefix: Buffer): boolean {
  return b.length >= prefix.length && b.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
