/**
 * Evaluating a flag against a context, pure and synchronous: the first matching rule, else the
 * rollout's bucket, else the flag's value (flags.ts describes the order and the bucket).
 */
import { sha256 } from '@noble/hashes/sha2';
import { utf8ToBytes } from '@noble/hashes/utils';
import type { KeyValue } from '../src/core.js';
import { flagdSplitVariant } from './flags-bucketing.js';
import {
  type AttributeCondition,
  type FlagBucketing,
  type FlagCondition,
  type FlagDefinition,
  type FlagSplit,
  flagProblems,
  isObject,
  type JsonValue,
  type RuleOp,
} from './flags-definition.js';
import { isSemverOp, parseVersion, semverHolds } from './flags-semver.js';

/** Attributes rules look at; `targetingKey` identifies the subject (user, tenant, …) for rollouts. */
export interface EvaluationContext {
  /**
   * The subject's stable ID (user, tenant …): it picks the rollout bucket, so the same subject
   * always gets the same answer.
   */
  targetingKey?: string;
  [attribute: string]: unknown;
}

/**
 * Why an evaluation served what it did: `STATIC` (a flag with no rules or rollout), `DEFAULT` (no
 * rule matched, no rollout applied), `TARGETING_MATCH` (a rule), `SPLIT` (the rollout),
 * `DISABLED`, or `ERROR` (the caller's default, see `errorCode`). OpenFeature's reasons.
 */
export type FlagReason = 'STATIC' | 'DEFAULT' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'ERROR';
/** Why an evaluation failed and served the caller's default; OpenFeature's error codes. */
export type FlagErrorCode =
  | 'PROVIDER_NOT_READY'
  | 'FLAG_NOT_FOUND'
  | 'PARSE_ERROR'
  | 'TYPE_MISMATCH'
  | 'GENERAL';

/** The outcome of an evaluation, shaped like OpenFeature's evaluation details. */
export interface FlagDetails<T> {
  /** The flag's name. */
  flagKey: string;
  /** The value served (the caller's default on an error or when disabled). */
  value: T;
  /**
   * Which branch served: a variant's name, or `value`, `rules[i]` (a rule's `serve`), `rollout`,
   * `otherwise`, `disabled`, `default` (error).
   */
  variant: string;
  /** Why this value was served. */
  reason: FlagReason;
  /** What went wrong, when `reason` is `ERROR`. */
  errorCode?: FlagErrorCode;
  /** The details of the error, for logs. */
  errorMessage?: string;
  /** The copy may be out of date (the watch is down). */
  stale: boolean;
  /** Mod revision of the flag's document, when there is one. */
  revision?: bigint;
}

/** A rollout bucket in [0, 100): sha256(name, a NUL byte, targetingKey), first 32 bits, scaled. */
export function rolloutBucket(name: string, targetingKey: string): number {
  // Pure JS so that it runs in browsers; UTF-8 as node:crypto hashed strings, so buckets match.
  const h = sha256(utf8ToBytes(`${name}\0${targetingKey}`));
  return (new DataView(h.buffer, h.byteOffset, 4).getUint32(0) / 2 ** 32) * 100;
}

type Predicate = (ctx: EvaluationContext) => boolean;

export interface Compiled {
  def: FlagDefinition;
  /** Each rule's condition, compiled once (regular expressions and versions parsed). */
  conditions: Predicate[];
}

/** A stored document, compiled once when read: a valid definition, or why it is not one. */
export type CompiledEntry =
  | { ok: true; flag: Compiled; revision: bigint }
  | { ok: false; error: string; revision: bigint };

/** Validates a definition already parsed from JSON and compiles its rules' conditions. */
export function compileDefinition(def: unknown): { ok: true; flag: Compiled } | { ok: false; error: string } {
  const problems = flagProblems(def);
  if (problems.length > 0) return { ok: false, error: problems.join('; ') };
  const d = def as FlagDefinition;
  return { ok: true, flag: { def: d, conditions: (d.rules ?? []).map(compileCondition) } };
}

/** Parses and validates a stored document, compiling its rules' conditions. */
export function compile(kv: KeyValue): CompiledEntry {
  let def: unknown;
  try {
    def = kv.json();
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}`, revision: kv.modRevision };
  }
  return { ...compileDefinition(def), revision: kv.modRevision };
}

function attribute(ctx: EvaluationContext, path: string): unknown {
  if (Object.hasOwn(ctx, path)) return ctx[path];
  if (!path.includes('.')) return undefined;
  let v: unknown = ctx;
  for (const part of path.split('.')) {
    if (!isObject(v) || !Object.hasOwn(v, part)) return undefined;
    v = v[part];
  }
  return v;
}

function compileCondition(c: FlagCondition): Predicate {
  if ('all' in c) {
    const ps = c.all.map(compileCondition);
    return (ctx) => ps.every((p) => p(ctx));
  }
  if ('any' in c) {
    const ps = c.any.map(compileCondition);
    return (ctx) => ps.some((p) => p(ctx));
  }
  if ('not' in c) {
    const p = compileCondition(c.not);
    return (ctx) => !p(ctx);
  }
  const test = compileTest(c);
  return (ctx) => {
    const a = attribute(ctx, c.attribute);
    return a !== undefined && test(a);
  };
}

/** The test of one attribute's value (present: absence is handled by the caller). */
function compileTest(c: AttributeCondition): (a: unknown) => boolean {
  const { op, value: v } = c;
  if (isSemverOp(op)) {
    const want = parseVersion(v)!;
    return (a) => {
      const have = parseVersion(a);
      return have !== undefined && semverHolds(op, have, want);
    };
  }
  switch (op) {
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return (a) => {
        const n = a instanceof Date ? a.getTime() : a;
        if (typeof n !== 'number' || typeof v !== 'number') return false;
        return op === 'lt' ? n < v : op === 'lte' ? n <= v : op === 'gt' ? n > v : n >= v;
      };
    case 'matches': {
      const re = new RegExp(v as string);
      return (a) => {
        const s = a instanceof Date ? a.toISOString() : a;
        return typeof s === 'string' && re.test(s);
      };
    }
    default:
      return (a) => textTest(op, a instanceof Date ? a.toISOString() : a, v);
  }
}

function textTest(op: RuleOp, a: unknown, v: JsonValue): boolean {
  switch (op) {
    case 'eq':
      return a === v;
    case 'neq':
      return a !== v;
    case 'in':
      return Array.isArray(v) && v.includes(a as JsonValue);
    case 'notIn':
      return Array.isArray(v) && !v.includes(a as JsonValue);
    case 'startsWith':
      return typeof a === 'string' && typeof v === 'string' && a.startsWith(v);
    case 'endsWith':
      return typeof a === 'string' && typeof v === 'string' && a.endsWith(v);
    case 'contains':
      if (typeof a === 'string') return typeof v === 'string' && a.includes(v);
      return Array.isArray(a) && a.includes(v);
    default:
      return false;
  }
}

/**
 * The variant a bucket in [0, 100) falls in: the split's variants in the order written, each
 * taking its weight's share.
 */
export function splitVariant(split: FlagSplit, bucket: number): string {
  let upTo = 0;
  let last = '';
  for (const [name, weight] of Object.entries(split)) {
    if (weight <= 0) continue;
    upTo += weight;
    last = name;
    if (bucket < upTo) return name;
  }
  // Decimal weights may sum to a hair under 100.
  return last;
}

type Resolution = { value: JsonValue; variant: string; reason: FlagReason };

/**
 * A split's variant for the context's targeting key; without one, its first variant (DEFAULT).
 * With a flagd `bucketing`, the variant flagd's fractional picks; where it picks none, the
 * bucketing's `otherwise` (DEFAULT), as flagd serves its default variant.
 */
function splitOutcome(
  name: string,
  d: FlagDefinition,
  split: FlagSplit,
  bucketing: FlagBucketing | undefined,
  ctx: EvaluationContext,
  reason: FlagReason,
): Resolution {
  if (bucketing !== undefined) {
    const picked = flagdSplitVariant(bucketing, split, name, ctx.targetingKey, (path) =>
      attribute(ctx, path),
    );
    const variant = picked ?? bucketing.otherwise ?? Object.keys(split)[0]!;
    return { value: d.variants![variant]!, variant, reason: picked === undefined ? 'DEFAULT' : reason };
  }
  const key = ctx.targetingKey;
  if (typeof key !== 'string' || key.length === 0) {
    const first = Object.keys(split)[0]!;
    return { value: d.variants![first]!, variant: first, reason: reason === 'SPLIT' ? 'DEFAULT' : reason };
  }
  const variant = splitVariant(split, rolloutBucket(name, key));
  return { value: d.variants![variant]!, variant, reason };
}

/** What the flag serves when no rule matched and no rollout applied, under `reason`. */
function fallback(name: string, d: FlagDefinition, ctx: EvaluationContext, reason: FlagReason): Resolution {
  if (d.split !== undefined) return splitOutcome(name, d, d.split, d.bucketing, ctx, 'SPLIT');
  if (d.defaultVariant !== undefined)
    return { value: d.variants![d.defaultVariant]!, variant: d.defaultVariant, reason };
  return { value: d.value!, variant: 'value', reason };
}

/** Which value a valid, enabled flag serves in `ctx`, and why. */
export function resolve(name: string, f: Compiled, ctx: EvaluationContext): Resolution {
  const d = f.def;
  const rules = d.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    if (!f.conditions[i]!(ctx)) continue;
    const r = rules[i]!;
    if (r.split !== undefined) return splitOutcome(name, d, r.split, r.bucketing, ctx, 'TARGETING_MATCH');
    if (r.variant !== undefined)
      return { value: d.variants![r.variant]!, variant: r.variant, reason: 'TARGETING_MATCH' };
    return { value: r.serve!, variant: `rules[${i}]`, reason: 'TARGETING_MATCH' };
  }
  const ro = d.rollout;
  if (ro) {
    const key = ctx.targetingKey;
    const otherwise = (reason: FlagReason): Resolution =>
      ro.otherwise !== undefined
        ? { value: ro.otherwise, variant: 'otherwise', reason }
        : fallback(name, d, ctx, reason);
    if (typeof key !== 'string' || key.length === 0) return otherwise('DEFAULT');
    if (rolloutBucket(name, key) < ro.percentage)
      return { value: ro.serve, variant: 'rollout', reason: 'SPLIT' };
    return otherwise('SPLIT');
  }
  return fallback(name, d, ctx, rules.length > 0 ? 'DEFAULT' : 'STATIC');
}
