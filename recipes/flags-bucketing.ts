/**
 * Bucketing a split as flagd's `fractional` does (core/pkg/evaluator/fractional.go in
 * open-feature/flagd), so that a user keeps under Concord the variant flagd gave them. Pure: runs
 * in browsers.
 */
import murmurhash from 'murmurhash';
import { type FlagBucketing, type FlagBucketPart, type FlagSplit, isObject } from './flags-definition.js';

/** Reads an attribute from the evaluation context, as rules do (a name or a dotted path). */
export type AttributeReader = (path: string) => unknown;

/**
 * flagd's murmur3: x86, 32 bits, seed 0, over the UTF-8 bytes (Go's `murmur3.StringSum32`), as an
 * unsigned 32-bit integer.
 */
export function flagdHash(text: string): number {
  // murmurhash encodes a string with TextEncoder: UTF-8, a lone surrogate as U+FFFD, as Go's JSON
  // decoder reads one.
  return murmurhash.v3(text, 0);
}

/** Go's `strconv.FormatFloat(n, 'f', -1, 64)`: the shortest digits, never an exponent. */
function goNumber(n: number): string {
  if (Object.is(n, -0)) return '-0';
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, first, rest = '', e] = m;
  const exp = Number(e);
  const digits = `${first}${rest}`;
  if (exp > 0) return `${sign}${digits}${'0'.repeat(exp - rest.length)}`;
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

/** Go's `strings.TrimSpace`: Unicode White_Space (which, unlike String#trim, has U+0085, not U+FEFF). */
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g');

/** A `cat` part as diegoholiveira/jsonlogic's ToString makes it; undefined where flagd fails. */
function catText(v: unknown): string | undefined {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return goNumber(v);
  return undefined;
}

/**
 * The text flagd hashes for this evaluation, or undefined when it hashes nothing (its fractional
 * then gives null and flagd serves the default variant).
 */
export function bucketText(
  b: FlagBucketing,
  flag: string,
  targetingKey: unknown,
  read: AttributeReader,
): string | undefined {
  const byDefault = (): string | undefined => {
    // flagd ≤ 0.14 hashed the flag key alone for an empty targeting key; 0.15 serves the default.
    if (typeof targetingKey !== 'string' || (targetingKey === '' && b.hash === 'flagd')) return undefined;
    return `${flag}${targetingKey}`;
  };
  const value = (p: FlagBucketPart): unknown =>
    typeof p === 'string' ? p : 'flagKey' in p ? flag : read(p.attribute);
  const by = b.by;
  if (by === undefined) return byDefault();
  if (isObject(by) && 'cat' in by) {
    const parts = by.cat.map((p) => catText(value(p)));
    if (parts.some((p) => p === undefined)) return undefined;
    const joined = parts.join('');
    return parts.length > 1 ? joined.replace(GO_TRIM, '') : joined;
  }
  const v = value(by);
  // A string is hashed; null (an absent var) is skipped for the default; anything else is a
  // malformed fractional to flagd.
  if (typeof v === 'string') return v;
  return v === undefined || v === null ? byDefault() : undefined;
}

/**
 * The variant flagd's fractional picks for a hash (see `flagdHash`), or undefined where flagd
 * picks none (0.14 and earlier, at |h| = 2^31 - 1 or 2^31, and where rounding leaves the
 * percentages short of the bucket: three hashes in 2^32).
 */
export function flagdVariant(hash: FlagBucketing['hash'], split: FlagSplit, h: number): string | undefined {
  const weights = Object.entries(split);
  const total = weights.reduce((n, [, w]) => n + w, 0);
  if (!(total > 0)) return undefined;
  if (hash === 'flagd') {
    // (uint64(h) * uint64(total)) >> 32: the product needs 63 bits, more than a double holds.
    const bucket = (BigInt(h) * BigInt(total)) >> 32n;
    let end = 0n;
    for (const [name, w] of weights) {
      end += BigInt(w);
      if (bucket < end) return name;
    }
    return undefined;
  }
  // float64(abs(int32(h))) / MaxInt32 * 100 against the running sum of 100 * w / total, in doubles.
  const bucket = (Math.abs(h | 0) / 2147483647) * 100;
  let end = 0;
  for (const [name, w] of weights) {
    end += (100 * w) / total;
    if (bucket < end) return name;
  }
  return undefined;
}

/** The variant a flagd-bucketed split serves, or undefined when flagd would serve its default. */
export function flagdSplitVariant(
  b: FlagBucketing,
  split: FlagSplit,
  flag: string,
  targetingKey: unknown,
  read: AttributeReader,
): string | undefined {
  const text = bucketText(b, flag, targetingKey, read);
  return text === undefined ? undefined : flagdVariant(b.hash, split, flagdHash(text));
}
