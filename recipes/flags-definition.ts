/**
 * What a feature flag is (see flags.ts for the layout and the evaluation order): the types of a
 * definition, and its validation, shared by the writer (`flagsAdmin().set()`), the reader (a
 * malformed document serves the caller's default) and `validateFlag()`.
 */
import { EtcdError } from '../src/core.js';

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
] as const;
/**
 * `eq`/`neq`: strict equality with a string, number, boolean or null; `in`/`notIn`: one of an
 * array; `startsWith`/`endsWith`: string prefix/suffix; `contains`: substring of a string, or
 * element of an array attribute; `matches`: a regular expression (JavaScript syntax);
 * `lt`/`lte`/`gt`/`gte`: numeric comparison (a Date attribute compares as epoch ms).
 * A rule whose attribute is absent from the context never matches (whatever the op).
 */
export type RuleOp = (typeof RULE_OPS)[number];

/**
 * A targeting rule: when the context's `attribute` passes `op` against `value`, the flag serves
 * `serve`.
 */
export interface FlagRule<T extends JsonValue = JsonValue> {
  /** A context attribute: `targetingKey`, a top-level name, or a dotted path (`account.plan`). */
  attribute: string;
  /** How the attribute is tested (see `RuleOp`). */
  op: RuleOp;
  /**
   * What the attribute is tested against: an array for `in`/`notIn`, a pattern string for
   * `matches`, a number for `lt`/`lte`/`gt`/`gte`.
   */
  value: JsonValue;
  /** Served when the rule matches. */
  serve: T;
}

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
  /** Served when no rule matches and no rollout applies. */
  value: T;
  /** Default true. A disabled flag evaluates to the caller's default (reason DISABLED). */
  enabled?: boolean;
  /** Tried in order; the first that matches serves its value. */
  rules?: FlagRule<T>[];
  /** Applied when no rule matched: see `FlagRollout`. */
  rollout?: FlagRollout<T>;
  /** For the people who read the flag; not used in evaluation. */
  description?: string;
}

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

function checkRule(r: unknown, type: FlagType, path: string, out: string[]): void {
  if (!isObject(r)) {
    out.push(`${path}: must be an object { attribute, op, value, serve }, got ${show(r)}`);
    return;
  }
  unknownFields(r, ['attribute', 'op', 'value', 'serve'], `${path}.`, out);
  if (typeof r.attribute !== 'string' || r.attribute.length === 0) {
    out.push(`${path}.attribute: must be a non-empty string, got ${show(r.attribute)}`);
  }
  const op = r.op as RuleOp;
  if (!RULE_OPS.includes(op)) {
    out.push(`${path}.op: unknown operator ${show(r.op)} (expected one of ${RULE_OPS.join(', ')})`);
  } else {
    const v = r.value;
    switch (op) {
      case 'eq':
      case 'neq':
        if (!(v === null || ['string', 'number', 'boolean'].includes(typeof v)))
          out.push(`${path}.value: ${op} compares with a string, number, boolean or null, got ${show(v)}`);
        break;
      case 'in':
      case 'notIn':
        if (!Array.isArray(v) || !isJson(v)) out.push(`${path}.value: ${op} needs an array, got ${show(v)}`);
        break;
      case 'startsWith':
      case 'endsWith':
        if (typeof v !== 'string') out.push(`${path}.value: ${op} needs a string, got ${show(v)}`);
        break;
      case 'contains':
        if (!(v === null || ['string', 'number', 'boolean'].includes(typeof v)))
          out.push(`${path}.value: contains needs a string, number, boolean or null, got ${show(v)}`);
        break;
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
        break;
      default:
        if (typeof v !== 'number' || !Number.isFinite(v))
          out.push(`${path}.value: ${op} needs a finite number, got ${show(v)}`);
    }
  }
  if (!('serve' in r)) out.push(`${path}.serve: required (the value served when the rule matches)`);
  else checkValue(type, r.serve, `${path}.serve`, out);
}

/** Every problem with a definition, as `path: message` lines (empty when it is valid). */
export function flagProblems(def: unknown): string[] {
  const out: string[] = [];
  if (!isObject(def)) return [`definition must be an object, got ${show(def)}`];
  unknownFields(def, ['type', 'value', 'enabled', 'rules', 'rollout', 'description'], '', out);
  const type = def.type as FlagType;
  if (!FLAG_TYPES.includes(type)) {
    out.push(`type: must be one of ${FLAG_TYPES.join(', ')}, got ${show(def.type)}`);
    return out;
  }
  if (!('value' in def)) out.push('value: required (the value served when no rule or rollout applies)');
  else checkValue(type, def.value, 'value', out);
  if (def.enabled !== undefined && typeof def.enabled !== 'boolean')
    out.push(`enabled: must be a boolean, got ${show(def.enabled)}`);
  if (def.description !== undefined && typeof def.description !== 'string')
    out.push(`description: must be a string, got ${show(def.description)}`);
  if (def.rules !== undefined) {
    if (!Array.isArray(def.rules)) out.push(`rules: must be an array, got ${show(def.rules)}`);
    else for (const [i, r] of def.rules.entries()) checkRule(r, type, `rules[${i}]`, out);
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
