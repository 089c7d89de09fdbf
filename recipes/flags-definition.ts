/**
 * What a feature flag is (see flags.ts for the layout and the evaluation order): the types of a
 * definition, and its validation, shared by the writer (`flagsAdmin().set()`), the reader (a
 * malformed document serves the caller's default) and `validateFlag()`.
 */
import { EtcdError } from '../src/core.js';
import { isSemverOp, parseVersion, SEMVER_OPS } from './flags-semver.js';

/** Where the flags live unless told otherwise. */
export const DEFAULT_PREFIX = 'flags/';

/** Any value JSON can hold: what a `json` flag serves and what rules compare with. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The types a flag can have, for validating input (a form, a CLI) before `flagsAdmin().set()`. */
export const FLAG_TYPES = ['boolean', 'string', 'number', 'json'] as const;
/** A flag's type: the type its value, its rules' `serve` and its rollout's values must have. */
export type FlagType = (typeof FLAG_TYPES)[number];

/** The operators a rule can use (see `RuleOp`), for validating input before `flagsAdmin().set()`. */
export const RULE_OPS = [
  'eq',
  'neq',
  'in',
  'notIn',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'lt',
  'lte',
  'gt',
  'gte',
  ...SEMVER_OPS,
] as const;
/**
 * `eq`/`neq`: strict equality with a string, number, boolean or null; `in`/`notIn`: one of an
 * array; `startsWith`/`endsWith`: string prefix/suffix; `contains`: substring of a string, or
 * element of an array attribute; `matches`: a regular expression (JavaScript syntax);
 * `lt`/`lte`/`gt`/`gte`: numeric comparison (a Date attribute compares as epoch ms);
 * `semverEq`/`semverNeq`/`semverLt`/`semverLte`/`semverGt`/`semverGte`: SemVer 2.0 precedence
 * (prerelease below its release, build metadata ignored; a leading `v` allowed), an attribute that
 * is not a version never matching.
 * A condition whose attribute is absent from the context never holds (whatever the op).
 */
export type RuleOp = (typeof RULE_OPS)[number];

/** A test of one context attribute: the attribute passes `op` against `value`. */
export interface AttributeCondition {
  /** A context attribute: `targetingKey`, a top-level name, or a dotted path (`account.plan`). */
  attribute: string;
  /** How the attribute is tested (see `RuleOp`). */
  op: RuleOp;
  /**
   * What the attribute is tested against: an array for `in`/`notIn`, a pattern string for
   * `matches`, a number for `lt`/`lte`/`gt`/`gte`, a version string for the `semver…` operators.
   */
  value: JsonValue;
}
/** Holds when every one of its conditions holds (at least one). */
export interface AllCondition {
  /** The conditions that must all hold. */
  all: FlagCondition[];
}
/** Holds when at least one of its conditions holds (at least one). */
export interface AnyCondition {
  /** The conditions of which one must hold. */
  any: FlagCondition[];
}
/** Holds when its condition does not (an absent attribute inside makes `not` hold). */
export interface NotCondition {
  /** The condition that must not hold. */
  not: FlagCondition;
}
/** A condition on the context: one attribute's test, or `all`/`any`/`not` of conditions, nested freely. */
export type FlagCondition = AttributeCondition | AllCondition | AnyCondition | NotCondition;

/**
 * Weights by variant name, summing to 100: a targeting key's bucket (see `rolloutBucket`) walks
 * the variants in the order written, each taking its share of [0, 100). With a flagd `bucketing`,
 * whole numbers of any total instead. (A name that reads as an integer, `"7"`, is walked before
 * the others, as JavaScript orders object keys.)
 */
export type FlagSplit = Record<string, number>;

/** What a matching rule serves: a value, a named variant, or a weighted split of variants. */
export type FlagOutcome<T extends JsonValue = JsonValue> =
  | {
      /** The value served. */
      serve: T;
      /** Not with `serve`. */
      variant?: never;
      /** Not with `serve`. */
      split?: never;
      /** Only with `split`. */
      bucketing?: never;
    }
  | {
      /** The name of the variant served (one of the flag's `variants`). */
      variant: string;
      /** Not with `variant`. */
      serve?: never;
      /** Not with `variant`. */
      split?: never;
      /** Only with `split`. */
      bucketing?: never;
    }
  | {
      /** Weights by variant name: the targeting key's bucket picks the variant served. */
      split: FlagSplit;
      /** Bucket as flagd does instead of by Concord's hash (see `FlagDefinition.bucketing`). */
      bucketing?: FlagDefinition['bucketing'];
      /** Not with `split`. */
      serve?: never;
      /** Not with `split`. */
      variant?: never;
    };

/**
 * A targeting rule: when its condition holds in the context, the flag serves its outcome
 * (`serve`, `variant` or `split`).
 *
 * @example
 * ```ts
 * const rule: FlagRule<string> = {
 *   all: [
 *     { attribute: 'country', op: 'in', value: ['FR', 'BE'] },
 *     { any: [{ attribute: 'age', op: 'gte', value: 18 }, { attribute: 'app', op: 'semverGte', value: '2.1.0' }] },
 *   ],
 *   variant: 'bold',
 * };
 * ```
 */
export type FlagRule<T extends JsonValue = JsonValue> = FlagCondition & FlagOutcome<T>;

/**
 * A percentage rollout: a stable share of targeting keys gets `serve`; a key keeps its answer as
 * the percentage grows.
 */
export interface FlagRollout<T extends JsonValue = JsonValue> {
  /** 0–100 (decimals allowed): the share of targeting keys that get `serve`. */
  percentage: number;
  /** Served to the keys inside the percentage. */
  serve: T;
  /** Served to keys outside the percentage, and when there is no targeting key (default: `value`). */
  otherwise?: T;
}

/**
 * A feature flag as stored in etcd (one JSON document per flag), written with `flagsAdmin().set()`.
 *
 * @example
 * ```ts
 * await flagsAdmin(client).set('new-checkout', {
 *   type: 'boolean',
 *   value: false,
 *   rules: [{ attribute: 'country', op: 'in', value: ['FR', 'BE'], serve: true }],
 *   rollout: { percentage: 10, serve: true },
 * });
 * ```
 */
export interface FlagDefinition<T extends JsonValue = JsonValue> {
  /** The flag's type: callers must ask for it with the matching getter (`getBoolean` …). */
  type: FlagType;
  /**
   * Served when no rule matches and no rollout applies. One of `value`, `defaultVariant` and
   * `split` is required.
   */
  value?: T;
  /** Named values of the flag's type, for rules' `variant`/`split`, `defaultVariant` and `split`. */
  variants?: Record<string, T>;
  /** The variant served when no rule matches and no rollout applies (instead of `value`). */
  defaultVariant?: string;
  /** Split the keys no rule matched between variants (instead of `value`; not with `rollout`). */
  split?: FlagSplit;
  /**
   * Only with `split`: bucket it as flagd's `fractional` does, so that a key keeps the variant it
   * had under flagd (`fromFlagd()` writes it). The split's weights are then whole numbers of any
   * total (at most 2^31 - 1). A rule's split can have one too.
   *
   * @example
   * ```ts
   * await flagsAdmin(client).set('header-color', {
   *   type: 'string',
   *   variants: { red: '#f00', blue: '#00f' },
   *   split: { red: 1, blue: 3 },
   *   bucketing: { hash: 'flagd', by: { cat: [{ flagKey: true }, { attribute: 'email' }] }, otherwise: 'blue' },
   * });
   * ```
   */
  bucketing?: {
    /**
     * `flagd`: as flagd 0.15 and later (and its providers since): murmur3 (x86, 32 bits, seed 0)
     * of the UTF-8 bytes, h, picks the bucket floor(h × total / 2^32) in [0, total) of the weights
     * walked in the order written. `flagd-v1`: as flagd 0.14 and earlier: the same hash read as a
     * signed 32-bit integer, |h| / (2^31 - 1) × 100, against each weight's percentage.
     */
    hash: 'flagd' | 'flagd-v1';
    /**
     * What is hashed: texts, context attributes (`{ attribute }`: a name or a dotted path, as in
     * rules) and the flag's own name (`{ flagKey: true }`, flagd's `$flagd.flagKey`). Absent: the
     * flag's name followed by the targeting key (flagd's default; no targeting key, or an empty
     * one, serves `otherwise`). One part: its text (an attribute that is absent or null falls back
     * to the default; one of another type serves `otherwise`). `{ cat: parts }`: the parts joined
     * as flagd's `cat` joins them (a number as Go prints it, an absent attribute as nothing, and
     * with two parts or more, white space trimmed from both ends).
     */
    by?:
      | string
      | {
          /** A context attribute: its value's text. */
          attribute: string;
        }
      | {
          /** The flag's name. */
          flagKey: true;
        }
      | {
          /** Parts joined as flagd's `cat`: texts, attributes and the flag's name. */
          cat: (
            | string
            | {
                /** A context attribute: its value's text. */
                attribute: string;
              }
            | {
                /** The flag's name. */
                flagKey: true;
              }
          )[];
        };
    /**
     * The variant served when there is nothing to hash (flagd then serves its `defaultVariant`);
     * default: the split's first variant.
     */
    otherwise?: string;
  };
  /** Default true. A disabled flag evaluates to the caller's default (reason DISABLED). */
  enabled?: boolean;
  /** Tried in order; the first that matches serves its outcome. */
  rules?: FlagRule<T>[];
  /** Applied when no rule matched: see `FlagRollout` (its `otherwise` defaults to the default). */
  rollout?: FlagRollout<T>;
  /** For the people who read the flag; not used in evaluation. */
  description?: string;
}

/** How a split buckets as flagd does (see `FlagDefinition.bucketing`). */
export type FlagBucketing = NonNullable<FlagDefinition['bucketing']>;
/** One part of what a flagd-bucketed split hashes. */
export type FlagBucketPart = Exclude<NonNullable<FlagBucketing['by']>, { cat: unknown }>;
/** The hashes a split can bucket with besides Concord's own. */
export const BUCKET_HASHES: readonly FlagBucketing['hash'][] = ['flagd', 'flagd-v1'];

/** A flag definition was refused by `flagsAdmin().set()` / `validateFlag()`. */
export class InvalidFlagError extends EtcdError {
  /** The `code` of this error, stable across releases and package copies. */
  static CODE = 'flag-invalid';
  /** Every problem found, one message each (`rules[0].op: …`), to show the author at once. */
  readonly problems: string[];
  constructor(message: string, problems: string[]) {
    super(message);
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function isJson(v: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  if (!isObject(v)) return false;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(v).every((x) => isJson(x, depth + 1));
}

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
};

function checkValue(type: FlagType, v: unknown, path: string, out: string[]): void {
  const ok =
    type === 'boolean'
      ? typeof v === 'boolean'
      : type === 'string'
        ? typeof v === 'string'
        : type === 'number'
          ? typeof v === 'number' && Number.isFinite(v)
          : v !== undefined && isJson(v);
  if (!ok) {
    const want = type === 'json' ? 'a JSON value' : type === 'number' ? 'a finite number' : `a ${type}`;
    out.push(`${path}: must be ${want} (the flag's type is ${type}), got ${show(v)}`);
  }
}

function unknownFields(o: Record<string, unknown>, known: string[], path: string, out: string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) out.push(`${path}${k}: unknown field (expected one of ${known.join(', ')})`);
  }
}

const MAX_CONDITION_DEPTH = 32;
const COMBINATORS = ['all', 'any', 'not'] as const;
const LEAF_FIELDS = ['attribute', 'op', 'value'];
const OUTCOMES = ['serve', 'variant', 'split'] as const;
/** Beside a rule's condition: its outcome, and how a split outcome buckets. */
const RULE_FIELDS = [...OUTCOMES, 'bucketing'] as const;
/** flagd's limit on a fractional's total weight (Java's long must hold hash × total). */
const MAX_FLAGD_TOTAL = 2 ** 31 - 1;
/** A split's weights may be decimals: their sum is 100 up to rounding. */
const SPLIT_TOLERANCE = 1e-6;

function checkOperand(op: RuleOp, v: unknown, path: string, out: string[]): void {
  switch (op) {
    case 'eq':
    case 'neq':
    case 'contains':
      if (!(v === null || ['string', 'number', 'boolean'].includes(typeof v)))
        out.push(`${path}.value: ${op} compares with a string, number, boolean or null, got ${show(v)}`);
      return;
    case 'in':
    case 'notIn':
      if (!Array.isArray(v) || !isJson(v)) out.push(`${path}.value: ${op} needs an array, got ${show(v)}`);
      return;
    case 'startsWith':
    case 'endsWith':
      if (typeof v !== 'string') out.push(`${path}.value: ${op} needs a string, got ${show(v)}`);
      return;
    case 'matches':
      if (typeof v !== 'string')
        out.push(`${path}.value: matches needs a regular expression string, got ${show(v)}`);
      else {
        try {
          new RegExp(v);
        } catch (e) {
          out.push(`${path}.value: invalid regular expression: ${(e as Error).message}`);
        }
      }
      return;
    default:
      if (isSemverOp(op)) {
        if (parseVersion(v) === undefined)
          out.push(
            `${path}.value: ${op} needs a SemVer 2.0 version string (1.2.3, 2.0.0-rc.1), got ${show(v)}`,
          );
      } else if (typeof v !== 'number' || !Number.isFinite(v))
        out.push(`${path}.value: ${op} needs a finite number, got ${show(v)}`);
  }
}

/**
 * Checks the condition part of `c` (the rest of its fields, `extra`, belong to the caller: a
 * rule's outcome). `all`/`any`/`not` and an attribute test are exclusive.
 */
function checkCondition(c: unknown, path: string, out: string[], extra: readonly string[], depth = 0): void {
  const prefix = path === '' ? '' : `${path}.`;
  if (!isObject(c)) {
    out.push(`${path}: must be an object { attribute, op, value } or { all | any | not }, got ${show(c)}`);
    return;
  }
  if (depth > MAX_CONDITION_DEPTH) {
    out.push(`${path}: conditions nest at most ${MAX_CONDITION_DEPTH} deep`);
    return;
  }
  const shapes = COMBINATORS.filter((k) => k in c);
  if (shapes.length > 1 || (shapes.length === 1 && LEAF_FIELDS.some((k) => k in c))) {
    const found = [...shapes, ...LEAF_FIELDS.filter((k) => k in c)].join(', ');
    out.push(`${path}: give one of { attribute, op, value }, all, any or not, got ${found}`);
    return;
  }
  const shape = shapes[0];
  if (shape === undefined) {
    unknownFields(c, [...LEAF_FIELDS, ...extra], prefix, out);
    if (typeof c.attribute !== 'string' || c.attribute.length === 0)
      out.push(`${prefix}attribute: must be a non-empty string, got ${show(c.attribute)}`);
    const op = c.op as RuleOp;
    if (!RULE_OPS.includes(op))
      out.push(`${prefix}op: unknown operator ${show(c.op)} (expected one of ${RULE_OPS.join(', ')})`);
    else checkOperand(op, c.value, path, out);
    return;
  }
  unknownFields(c, [shape, ...extra], prefix, out);
  const inner = c[shape];
  if (shape === 'not') {
    checkCondition(inner, `${prefix}not`, out, [], depth + 1);
    return;
  }
  if (!Array.isArray(inner) || inner.length === 0) {
    out.push(`${prefix}${shape}: must be a non-empty array of conditions, got ${show(inner)}`);
    return;
  }
  for (const [i, x] of inner.entries()) checkCondition(x, `${prefix}${shape}[${i}]`, out, [], depth + 1);
}

function checkSplit(
  split: unknown,
  variants: Record<string, unknown> | undefined,
  path: string,
  out: string[],
  flagd: boolean,
): void {
  if (!isObject(split) || Object.keys(split).length === 0) {
    out.push(`${path}: must be an object of weights by variant name, got ${show(split)}`);
    return;
  }
  let sum = 0;
  for (const [name, w] of Object.entries(split)) {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0)
      out.push(`${path}.${name}: a weight must be a number >= 0, got ${show(w)}`);
    else sum += w;
    checkVariantName(name, variants, `${path}.${name}`, out);
  }
  if (out.some((m) => m.startsWith(`${path}.`))) return;
  if (!flagd) {
    if (Math.abs(sum - 100) > SPLIT_TOLERANCE) out.push(`${path}: weights must sum to 100, got ${sum}`);
    return;
  }
  const fractions = Object.entries(split).filter(([, w]) => !Number.isInteger(w));
  for (const [name, w] of fractions)
    out.push(`${path}.${name}: with a flagd bucketing, weights are whole numbers, got ${w}`);
  if (fractions.length === 0 && !(sum > 0 && sum <= MAX_FLAGD_TOTAL))
    out.push(`${path}: with a flagd bucketing, weights must total 1 to ${MAX_FLAGD_TOTAL}, got ${sum}`);
}

function checkBucketPart(p: unknown, path: string, out: string[]): void {
  if (typeof p === 'string') return;
  if (isObject(p) && Object.keys(p).length === 1) {
    if (p.flagKey === true) return;
    if (typeof p.attribute === 'string' && p.attribute.length > 0) return;
  }
  out.push(`${path}: must be a text, { attribute: name } or { flagKey: true }, got ${show(p)}`);
}

/** A split's `bucketing` (only beside a split: `o[split]`). */
function checkBucketing(
  o: Record<string, unknown>,
  split: string,
  variants: Record<string, unknown> | undefined,
  prefix: string,
  out: string[],
): void {
  const b = o.bucketing;
  if (b === undefined) return;
  const path = `${prefix}bucketing`;
  if (o[split] === undefined) {
    out.push(`${path}: only with ${split}`);
    return;
  }
  if (!isObject(b)) {
    out.push(`${path}: must be an object { hash, by?, otherwise? }, got ${show(b)}`);
    return;
  }
  unknownFields(b, ['hash', 'by', 'otherwise'], `${path}.`, out);
  if (!BUCKET_HASHES.includes(b.hash as FlagBucketing['hash']))
    out.push(`${path}.hash: must be one of ${BUCKET_HASHES.join(', ')}, got ${show(b.hash)}`);
  const by = b.by;
  if (isObject(by) && 'cat' in by) {
    if (Object.keys(by).length !== 1 || !Array.isArray(by.cat))
      out.push(`${path}.by: { cat } takes an array of parts and nothing else, got ${show(by)}`);
    else for (const [i, p] of by.cat.entries()) checkBucketPart(p, `${path}.by.cat[${i}]`, out);
  } else if (by !== undefined) checkBucketPart(by, `${path}.by`, out);
  if (b.otherwise !== undefined) checkVariantName(b.otherwise, variants, `${path}.otherwise`, out);
}

function checkVariantName(
  name: unknown,
  variants: Record<string, unknown> | undefined,
  path: string,
  out: string[],
): void {
  if (variants === undefined) out.push(`${path}: names a variant, but the flag has no variants`);
  else if (typeof name !== 'string' || !Object.hasOwn(variants, name))
    out.push(`${path}: unknown variant ${show(name)} (expected one of ${Object.keys(variants).join(', ')})`);
}

/** Exactly one of `serve`, `variant`, `split` for a rule (value, defaultVariant, split at the top). */
function checkOutcome(
  o: Record<string, unknown>,
  fields: readonly [value: string, variant: string, split: string],
  ctx: { type: FlagType; variants: Record<string, unknown> | undefined },
  path: string,
  missing: string,
  out: string[],
): void {
  const prefix = path === '' ? '' : `${path}.`;
  // As JSON stores it: a field set to undefined is absent.
  const given = fields.filter((k) => o[k] !== undefined);
  if (given.length === 0) {
    out.push(`${prefix}${fields[0]}: required (${missing}), or ${fields[1]} or ${fields[2]} with variants`);
    return;
  }
  if (given.length > 1) {
    out.push(
      `${path || 'definition'}: ${given.join(' and ')} are exclusive: give one of ${fields.join(', ')}`,
    );
    return;
  }
  const [value, variant] = fields;
  const k = given[0]!;
  if (k === value) checkValue(ctx.type, o[k], `${prefix}${k}`, out);
  else if (k === variant) checkVariantName(o[k], ctx.variants, `${prefix}${k}`, out);
  else checkSplit(o[k], ctx.variants, `${prefix}${k}`, out, o.bucketing !== undefined);
}

function checkRule(
  r: unknown,
  ctx: { type: FlagType; variants: Record<string, unknown> | undefined },
  path: string,
  out: string[],
): void {
  if (!isObject(r)) {
    out.push(`${path}: must be an object { attribute, op, value, serve }, got ${show(r)}`);
    return;
  }
  checkCondition(r, path, out, RULE_FIELDS);
  checkOutcome(r, OUTCOMES, ctx, path, 'the value served when the rule matches', out);
  checkBucketing(r, 'split', ctx.variants, `${path}.`, out);
}

function checkVariants(v: unknown, type: FlagType, out: string[]): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.keys(v).length === 0) {
    out.push(`variants: must be an object of values by name (at least one), got ${show(v)}`);
    return {};
  }
  for (const [name, x] of Object.entries(v)) {
    if (name.length === 0) out.push('variants: a variant name must be non-empty');
    checkValue(type, x, `variants.${name}`, out);
  }
  return v;
}

const TOP_FIELDS = [
  'type',
  'value',
  'variants',
  'defaultVariant',
  'split',
  'bucketing',
  'enabled',
  'rules',
  'rollout',
  'description',
];

/** Every problem with a definition, as `path: message` lines (empty when it is valid). */
export function flagProblems(def: unknown): string[] {
  const out: string[] = [];
  if (!isObject(def)) return [`definition must be an object, got ${show(def)}`];
  unknownFields(def, TOP_FIELDS, '', out);
  const type = def.type as FlagType;
  if (!FLAG_TYPES.includes(type)) {
    out.push(`type: must be one of ${FLAG_TYPES.join(', ')}, got ${show(def.type)}`);
    return out;
  }
  const ctx = { type, variants: checkVariants(def.variants, type, out) };
  checkOutcome(
    def,
    ['value', 'defaultVariant', 'split'],
    ctx,
    '',
    'the value served when no rule or rollout applies',
    out,
  );
  checkBucketing(def, 'split', ctx.variants, '', out);
  if (def.enabled !== undefined && typeof def.enabled !== 'boolean')
    out.push(`enabled: must be a boolean, got ${show(def.enabled)}`);
  if (def.description !== undefined && typeof def.description !== 'string')
    out.push(`description: must be a string, got ${show(def.description)}`);
  if (def.rules !== undefined) {
    if (!Array.isArray(def.rules)) out.push(`rules: must be an array, got ${show(def.rules)}`);
    else for (const [i, r] of def.rules.entries()) checkRule(r, ctx, `rules[${i}]`, out);
  }
  if (def.rollout !== undefined) {
    const ro = def.rollout;
    if (!isObject(ro))
      out.push(`rollout: must be an object { percentage, serve, otherwise? }, got ${show(ro)}`);
    else {
      unknownFields(ro, ['percentage', 'serve', 'otherwise'], 'rollout.', out);
      if (typeof ro.percentage !== 'number' || !(ro.percentage >= 0 && ro.percentage <= 100))
        out.push(`rollout.percentage: must be a number from 0 to 100, got ${show(ro.percentage)}`);
      if (!('serve' in ro)) out.push('rollout.serve: required (the value served inside the percentage)');
      else checkValue(type, ro.serve, 'rollout.serve', out);
      if (ro.otherwise !== undefined) checkValue(type, ro.otherwise, 'rollout.otherwise', out);
    }
    if ('split' in def)
      out.push('rollout: not with split (both divide the keys): give the rollout its share in the split');
  }
  return out;
}

export function checkFlagName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`flag name must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Returns the definition if it is valid; throws `InvalidFlagError` listing every problem otherwise. */
export function validateFlag<T extends JsonValue>(name: string, def: FlagDefinition<T>): FlagDefinition<T> {
  checkFlagName(name);
  const problems = flagProblems(def);
  if (problems.length > 0) {
    throw new InvalidFlagError(`invalid flag ${JSON.stringify(name)}: ${problems.join('; ')}`, problems);
  }
  return def;
}
