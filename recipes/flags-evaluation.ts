/**
 * Evaluating a flag against a context, pure and synchronous: the first matching rule, else the
 * rollout's bucket, else the flag's value (flags.ts describes the order and the bucket).
 */
import { sha256 } from '@noble/hashes/sha2';
import { utf8ToBytes } from '@noble/hashes/utils';
import type { KeyValue } from '../src/core.js';
import {
  type FlagDefinition,
  type FlagRule,
  flagProblems,
  isObject,
  type JsonValue,
} from './flags-definition.js';

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
  /** Which branch served: `value`, `rules[i]`, `rollout`, `otherwise`, `disabled`, `default` (error). */
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

export interface Compiled {
  def: FlagDefinition;
  regexes: (RegExp | undefined)[];
}

/** A stored document, compiled once when read: a valid definition, or why it is not one. */
export type CompiledEntry =
  | { ok: true; flag: Compiled; revision: bigint }
  | { ok: false; error: string; revision: bigint };

/** Parses and validates a stored document, compiling its `matches` rules' regular expressions. */
export function compile(kv: KeyValue): CompiledEntry {
  let def: unknown;
  try {
    def = kv.json();
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}`, revision: kv.modRevision };
  }
  const problems = flagProblems(def);
  if (problems.length > 0) return { ok: false, error: problems.join('; '), revision: kv.modRevision };
  const d = def as FlagDefinition;
  const regexes = (d.rules ?? []).map((r) =>
    r.op === 'matches' ? new RegExp(r.value as string) : undefined,
  );
  return { ok: true, flag: { def: d, regexes }, revision: kv.modRevision };
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

function matches(rule: FlagRule, re: RegExp | undefined, ctx: EvaluationContext): boolean {
  let a = attribute(ctx, rule.attribute);
  if (a === undefined) return false;
  const v = rule.value;
  switch (rule.op) {
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte': {
      if (a instanceof Date) a = a.getTime();
      if (typeof a !== 'number' || typeof v !== 'number') return false;
      return rule.op === 'lt' ? a < v : rule.op === 'lte' ? a <= v : rule.op === 'gt' ? a > v : a >= v;
    }
    default:
      break;
  }
  if (a instanceof Date) a = a.toISOString();
  switch (rule.op) {
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
    case 'matches':
      return typeof a === 'string' && re !== undefined && re.test(a);
    default:
      return false;
  }
}

/** Which value a valid, enabled flag serves in `ctx`, and why. */
export function resolve(
  name: string,
  f: Compiled,
  ctx: EvaluationContext,
): { value: JsonValue; variant: string; reason: FlagReason } {
  const d = f.def;
  const rules = d.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    if (matches(rules[i]!, f.regexes[i], ctx))
      return { value: rules[i]!.serve, variant: `rules[${i}]`, reason: 'TARGETING_MATCH' };
  }
  const ro = d.rollout;
  if (ro) {
    const key = ctx.targetingKey;
    const otherwise = ro.otherwise !== undefined ? 'otherwise' : 'value';
    if (typeof key !== 'string' || key.length === 0)
      return { value: ro.otherwise ?? d.value, variant: otherwise, reason: 'DEFAULT' };
    if (rolloutBucket(name, key) < ro.percentage)
      return { value: ro.serve, variant: 'rollout', reason: 'SPLIT' };
    return { value: ro.otherwise ?? d.value, variant: otherwise, reason: 'SPLIT' };
  }
  return { value: d.value, variant: 'value', reason: rules.length > 0 ? 'DEFAULT' : 'STATIC' };
}
