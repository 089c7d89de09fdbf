/**
 * Importing flagd's flag definitions (https://flagd.dev/reference/flag-definitions/) as Concord
 * definitions, so that flagd users can move: `state`, `variants`, `defaultVariant`, and the
 * targeting JsonLogic that has a Concord equivalent (`if`, `==`, `!=`, `in`, `and`, `or`, `!`,
 * `<`, `<=`, `>`, `>=`, `starts_with`, `ends_with`, `sem_ver`, `fractional` (bucketed as flagd
 * buckets, see `FlagDefinition.bucketing`), `$ref` to `$evaluators`). A flag whose targeting uses anything
 * else is left out, with the reason; a flag that maps with a difference in behaviour is kept,
 * with the difference. Pure: runs in browsers.
 */
import {
  type FlagBucketing,
  type FlagBucketPart,
  type FlagCondition,
  type FlagDefinition,
  type FlagSplit,
  type FlagType,
  flagProblems,
  isObject,
  type JsonValue,
} from './flags-definition.js';
import { parseVersion } from './flags-semver.js';

/** Something in a flagd flag that Concord does not express as flagd does. */
export interface FlagdIssue {
  /** The flag's key. */
  flag: string;
  /** Where in the flag (`targeting.if[2].sem_ver`). */
  path: string;
  /** What does not map, and why. */
  reason: string;
  /** True: the flag was left out of `flags`. False: it is in, and behaves as `reason` says. */
  skipped: boolean;
}

/** What `fromFlagd()` returns: the definitions that map, by flag key, and every issue. */
export interface FlagdImport {
  /** The definitions that map, by flag key, for `flagsAdmin().set()`. */
  flags: Record<string, FlagDefinition>;
  /** What was left out (`skipped`) or maps with a difference, flag by flag. */
  issues: FlagdIssue[];
}

/** An expression that has no Concord equivalent: the flag is skipped. */
class Unmapped extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

type Split = { split: FlagSplit; bucketing: FlagBucketing };
type Outcome = { variant: string } | Split | { default: true };

interface Scope {
  flag: string;
  defaultVariant: string;
  hash: FlagBucketing['hash'];
  variants: Record<string, JsonValue>;
  evaluators: Record<string, unknown>;
  notes: FlagdIssue[];
}

const note = (s: Scope, path: string, reason: string) =>
  s.notes.push({ flag: s.flag, path, reason, skipped: false });

/** The one operator of a JsonLogic expression, and its arguments as an array. */
function operation(e: unknown, path: string): [string, unknown[]] {
  if (!isObject(e) || Object.keys(e).length !== 1)
    throw new Unmapped(path, `not a JsonLogic operation with one operator: ${JSON.stringify(e)}`);
  const [op, args] = Object.entries(e)[0]!;
  return [op, Array.isArray(args) ? args : [args]];
}

/** `{"var": "a.b"}` → `a.b`, else undefined. */
function variable(e: unknown, s: Scope, path: string): string | undefined {
  if (!isObject(e) || !('var' in e) || Object.keys(e).length !== 1) return undefined;
  const v = e.var;
  const name = Array.isArray(v) ? v[0] : v;
  if (Array.isArray(v) && v.length > 1)
    note(s, path, 'var: the default value is dropped (an absent attribute never matches)');
  if (typeof name !== 'string' || name.length === 0)
    throw new Unmapped(path, `var: needs an attribute name, got ${JSON.stringify(v)}`);
  if (name.startsWith('$flagd.'))
    throw new Unmapped(path, `var ${name}: flagd's own properties have no Concord equivalent`);
  return name;
}

const isScalar = (v: unknown): v is string | number | boolean | null =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** One side a variable, the other a constant: the attribute, the constant, and whether they were swapped. */
function sides(args: unknown[], s: Scope, path: string, op: string): [string, unknown, boolean] {
  if (args.length !== 2) throw new Unmapped(path, `${op}: needs 2 arguments, got ${args.length}`);
  const a = variable(args[0], s, `${path}[0]`);
  const b = variable(args[1], s, `${path}[1]`);
  if (a !== undefined && b === undefined) return [a, args[1], false];
  if (b !== undefined && a === undefined) return [b, args[0], true];
  throw new Unmapped(path, `${op}: compares a context attribute with a constant only`);
}

const FLIPPED = { lt: 'gt', lte: 'gte', gt: 'lt', gte: 'lte' } as const;
const COMPARISONS = { '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' } as const;
const SEMVER = {
  '=': 'semverEq',
  '!=': 'semverNeq',
  '<': 'semverLt',
  '<=': 'semverLte',
  '>': 'semverGt',
  '>=': 'semverGte',
} as const;

/** flagd accepts `v1`, `1.2`: pads to a full version (only the target; a context value must be one). */
function fullVersion(v: unknown, path: string): [number, number, string] {
  const text = typeof v === 'number' ? String(v) : v;
  const m = typeof text === 'string' ? /^[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+].*)?$/.exec(text) : null;
  const full = m ? `${m[1]}.${m[2] ?? '0'}.${m[3] ?? '0'}${m[4] ?? ''}` : '';
  const parsed = parseVersion(full);
  if (!parsed) throw new Unmapped(path, `sem_ver: ${JSON.stringify(v)} is not a version`);
  return [parsed.major, parsed.minor, full];
}

function condition(e: unknown, s: Scope, path: string): FlagCondition {
  const [op, args] = operation(e, path);
  const at = `${path}.${op}`;
  switch (op) {
    case 'and':
    case 'or': {
      if (args.length === 0) throw new Unmapped(at, `${op}: needs at least one condition`);
      const cs = args.map((a, i) => condition(a, s, `${at}[${i}]`));
      return op === 'and' ? { all: cs } : { any: cs };
    }
    case '!':
      if (args.length !== 1) throw new Unmapped(at, '!: needs one condition');
      return { not: condition(args[0], s, `${at}[0]`) };
    case '==':
    case '===':
    case '!=':
    case '!==': {
      const [attribute, value] = sides(args, s, at, op);
      if (!isScalar(value))
        throw new Unmapped(at, `${op}: compares with a string, number, boolean or null only`);
      if (op.length === 2)
        note(s, at, `${op}: compared strictly (JsonLogic's ${op} converts types: "1" == 1)`);
      return { attribute, op: op.startsWith('=') ? 'eq' : 'neq', value };
    }
    case 'in': {
      const [attribute, value, swapped] = sides(args, s, at, op);
      // {"in": [attr, [..]]}: one of a list; {"in": ["x", attr]}: substring, or element of an array.
      if (!swapped && Array.isArray(value) && value.every(isScalar)) return { attribute, op: 'in', value };
      if (swapped && isScalar(value)) return { attribute, op: 'contains', value };
      throw new Unmapped(at, 'in: tests an attribute against a list, or a constant against an attribute');
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const cmp = COMPARISONS[op];
      if (args.length === 3 && (op === '<' || op === '<=')) {
        // JsonLogic's "between": {"<": [lo, attr, hi]}.
        const attribute = variable(args[1], s, `${at}[1]`);
        const [lo, hi] = [args[0], args[2]];
        if (attribute === undefined || typeof lo !== 'number' || typeof hi !== 'number')
          throw new Unmapped(at, `${op}: between compares numbers with a context attribute`);
        return {
          all: [
            { attribute, op: FLIPPED[cmp], value: lo },
            { attribute, op: cmp, value: hi },
          ],
        };
      }
      const [attribute, value, swapped] = sides(args, s, at, op);
      if (typeof value !== 'number') throw new Unmapped(at, `${op}: compares numbers only in Concord`);
      return { attribute, op: swapped ? FLIPPED[cmp] : cmp, value };
    }
    case 'starts_with':
    case 'ends_with': {
      const [attribute, value, swapped] = sides(args, s, at, op);
      if (swapped || typeof value !== 'string') throw new Unmapped(at, `${op}: needs [attribute, string]`);
      return { attribute, op: op === 'starts_with' ? 'startsWith' : 'endsWith', value };
    }
    case 'sem_ver': {
      if (args.length !== 3) throw new Unmapped(at, 'sem_ver: needs [attribute, operator, version]');
      const attribute = variable(args[0], s, `${at}[0]`);
      if (attribute === undefined) throw new Unmapped(at, 'sem_ver: compares a context attribute');
      const [major, minor, full] = fullVersion(args[2], `${at}[2]`);
      note(
        s,
        at,
        'sem_ver: the context value must be a full version (flagd pads 1.2 to 1.2.0; Concord does not match it)',
      );
      const cmp = args[1];
      // flagd's ^ keeps the major version, ~ the minor: a range from the lowest prerelease.
      if (cmp === '^' || cmp === '~') {
        const [from, to] =
          cmp === '^'
            ? [`${major}.0.0-0`, `${major + 1}.0.0-0`]
            : [`${major}.${minor}.0-0`, `${major}.${minor + 1}.0-0`];
        return {
          all: [
            { attribute, op: 'semverGte', value: from },
            { attribute, op: 'semverLt', value: to },
          ],
        };
      }
      if (typeof cmp !== 'string' || !Object.hasOwn(SEMVER, cmp))
        throw new Unmapped(at, `sem_ver: unknown operator ${JSON.stringify(cmp)}`);
      return { attribute, op: SEMVER[cmp as keyof typeof SEMVER], value: full };
    }
    case '$ref':
      return condition(reference(args[0], s, at), s, at);
    default:
      throw new Unmapped(at, `${op}: no Concord equivalent`);
  }
}

function reference(name: unknown, s: Scope, path: string): unknown {
  if (typeof name !== 'string' || !Object.hasOwn(s.evaluators, name))
    throw new Unmapped(path, `$ref: no evaluator ${JSON.stringify(name)}`);
  return s.evaluators[name];
}

/** flagd's limit on a fractional's total weight. */
const MAX_TOTAL = 2 ** 31 - 1;

/** A part of fractional's bucketBy: a constant text or `{"var": …}`. */
function bucketPart(e: unknown, path: string): FlagBucketPart {
  if (typeof e === 'string') return e;
  if (e === null) return '';
  const v = isObject(e) && Object.keys(e).length === 1 ? e.var : undefined;
  const name = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (typeof name !== 'string' || name.length === 0)
    throw new Unmapped(path, `fractional: buckets by texts and {"var": name} only, not ${JSON.stringify(e)}`);
  if (name === '$flagd.flagKey') return { flagKey: true };
  if (name.startsWith('$flagd.'))
    throw new Unmapped(path, `fractional: buckets by ${name}, which has no Concord equivalent`);
  return { attribute: name };
}

/** fractional's optional first argument: what is hashed (absent or null: key + targeting key). */
function bucketBy(e: unknown, path: string): FlagBucketing['by'] {
  if (e === null) return undefined;
  if (isObject(e) && 'cat' in e && Object.keys(e).length === 1) {
    const parts = Array.isArray(e.cat) ? e.cat : [e.cat];
    return { cat: parts.map((p, i) => bucketPart(p, `${path}.cat[${i}]`)) };
  }
  return bucketPart(e, path);
}

/** `fractional: [bucketBy?, [variant, weight?], …]` as a split bucketed as flagd buckets it. */
function split(args: unknown[], s: Scope, path: string): Split | { default: true } {
  const bucketing: FlagBucketing = { hash: s.hash, otherwise: s.defaultVariant };
  let pairs = args;
  if (args.length > 0 && !Array.isArray(args[0])) {
    const by = bucketBy(args[0], `${path}[0]`);
    if (by !== undefined) bucketing.by = by;
    pairs = args.slice(1);
  }
  const out: FlagSplit = {};
  const order: string[] = [];
  for (const [i, p] of pairs.entries()) {
    const at = `${path}[${i + args.length - pairs.length}]`;
    const w = Array.isArray(p) ? (p[1] ?? 1) : undefined;
    if (!Array.isArray(p) || typeof p[0] !== 'string' || typeof w !== 'number')
      throw new Unmapped(at, `fractional: expects [variant, weight], got ${JSON.stringify(p)}`);
    const name = p[0];
    if (Object.hasOwn(out, name))
      throw new Unmapped(at, `fractional: variant ${JSON.stringify(name)} twice (a split names each once)`);
    // 0.15 refuses a fraction (and then serves the default to all); 0.14 truncated it.
    if (s.hash === 'flagd' && !Number.isInteger(w))
      throw new Unmapped(at, `fractional: flagd refuses the weight ${w} (not a whole number)`);
    if (s.hash === 'flagd-v1' && w < 0)
      throw new Unmapped(at, `fractional: a negative weight (${w}) under flagd 0.14`);
    // 0.15 counts a negative weight as 0.
    out[name] = Math.max(0, Math.trunc(w));
    order.push(name);
  }
  const total = Object.values(out).reduce((n, w) => n + w, 0);
  if (order.length === 0) throw new Unmapped(path, 'fractional: needs variants with weights');
  if (total > MAX_TOTAL)
    throw new Unmapped(path, `fractional: flagd refuses weights totalling ${total} (over ${MAX_TOTAL})`);
  // flagd 0.15 serves the default variant to everyone when the weights total 0.
  if (total === 0 && s.hash === 'flagd') return { default: true };
  if (total === 0) throw new Unmapped(path, 'fractional: weights total 0');
  if (Object.keys(out).join('\0') !== order.join('\0'))
    throw new Unmapped(
      path,
      'fractional: a variant named as an integer would be walked first (JavaScript orders such keys first)',
    );
  return { split: out, bucketing };
}

function outcome(e: unknown, s: Scope, path: string): Outcome | { rules: Rule[]; otherwise: Outcome } {
  if (e === null || e === undefined) return { default: true };
  if (typeof e === 'string') return { variant: e };
  if (typeof e === 'boolean') return { variant: String(e) };
  const [op, args] = operation(e, path);
  if (op === 'fractional') return split(args, s, `${path}.fractional`);
  if (op === 'if') return branches(args, s, `${path}.if`);
  if (op === '$ref') return outcome(reference(args[0], s, `${path}.$ref`), s, path);
  throw new Unmapped(`${path}.${op}`, `${op}: targeting must give a variant name, an if, or a fractional`);
}

type Rule = { when: FlagCondition[]; serves: Outcome };

/** `if: [c1, r1, c2, r2, …, else?]`: first-match rules and what is served when none matches. */
function branches(args: unknown[], s: Scope, path: string): { rules: Rule[]; otherwise: Outcome } {
  const rules: Rule[] = [];
  const add = (guard: FlagCondition[], o: ReturnType<typeof outcome>) => {
    if (!('rules' in o)) return rules.push({ when: guard, serves: o });
    for (const r of o.rules) rules.push({ when: [...guard, ...r.when], serves: r.serves });
    // A nested if's else is what its guard alone serves.
    rules.push({ when: guard, serves: o.otherwise });
  };
  let i = 0;
  for (; i + 1 < args.length; i += 2)
    add([condition(args[i], s, `${path}[${i}]`)], outcome(args[i + 1], s, `${path}[${i + 1}]`));
  const last = i < args.length ? outcome(args[i], s, `${path}[${i}]`) : ({ default: true } as const);
  if ('rules' in last) return { rules: [...rules, ...last.rules], otherwise: last.otherwise };
  return { rules, otherwise: last };
}

function typeOf(values: JsonValue[]): FlagType {
  for (const t of ['boolean', 'string', 'number'] as const) if (values.every((v) => typeof v === t)) return t;
  return 'json';
}

function mapFlag(
  flag: string,
  f: unknown,
  evaluators: Record<string, unknown>,
  hash: FlagBucketing['hash'],
  issues: FlagdIssue[],
): FlagDefinition | undefined {
  const s: Scope = { flag, defaultVariant: '', hash, variants: {}, evaluators, notes: [] };
  const skip = (path: string, reason: string) => {
    issues.push({ flag, path, reason, skipped: true });
    return undefined;
  };
  if (!isObject(f)) return skip('', 'a flag must be an object');
  if (!isObject(f.variants) || Object.keys(f.variants).length === 0)
    return skip('variants', 'a flag needs variants');
  s.variants = f.variants as Record<string, JsonValue>;
  const def: FlagDefinition = { type: typeOf(Object.values(s.variants)), variants: s.variants };
  if (f.state === 'DISABLED') def.enabled = false;
  else if (f.state !== 'ENABLED')
    return skip('state', `state must be ENABLED or DISABLED, got ${JSON.stringify(f.state)}`);
  if (typeof f.defaultVariant !== 'string')
    return skip(
      'defaultVariant',
      "no defaultVariant (flagd then serves the code's default): Concord needs a default",
    );
  s.defaultVariant = f.defaultVariant;
  if (f.metadata !== undefined) note(s, 'metadata', 'metadata is not kept');
  let otherwise: Outcome = { variant: f.defaultVariant };
  try {
    const t = f.targeting;
    if (t !== undefined && !(isObject(t) && Object.keys(t).length === 0)) {
      const o = outcome(t, s, 'targeting');
      const { rules, otherwise: rest } = 'rules' in o ? o : { rules: [], otherwise: o };
      def.rules = rules.map(({ when, serves }) => {
        const c: FlagCondition = when.length === 1 ? when[0]! : { all: when };
        return { ...c, ...concordOutcome(serves, f.defaultVariant as string) };
      });
      if (def.rules.length === 0) delete def.rules;
      if (!('default' in rest)) otherwise = rest;
    }
  } catch (e) {
    if (e instanceof Unmapped) return skip(e.path, e.message);
    throw e;
  }
  Object.assign(
    def,
    'split' in otherwise
      ? { split: otherwise.split, bucketing: otherwise.bucketing }
      : { defaultVariant: (otherwise as { variant: string }).variant },
  );
  const problems = flagProblems(def);
  if (problems.length > 0) return skip('', `the mapped definition is invalid: ${problems.join('; ')}`);
  issues.push(...s.notes);
  return def;
}

function concordOutcome(o: Outcome, defaultVariant: string): { variant: string } | Split {
  if ('default' in o) return { variant: defaultVariant };
  return o;
}

/**
 * Maps a flagd flag-definition document (its JSON text or the parsed object; `flags` as an object
 * by key or an array with `key`) to Concord definitions, with every issue: what was left out and
 * why, and what maps with a difference. A `fractional` gives every key the variant flagd gives it
 * (flagd 0.15 and later; `{ fractional: 'flagd-v1' }` for 0.14 and earlier).
 *
 * @example
 * ```ts
 * import { flagsAdmin, fromFlagd } from 'concord-kv/recipes';
 * const { flags, issues } = fromFlagd({
 *   flags: {
 *     'header-color': {
 *       state: 'ENABLED',
 *       variants: { red: '#f00', blue: '#00f' },
 *       defaultVariant: 'blue',
 *       targeting: { if: [{ sem_ver: [{ var: 'version' }, '>=', '2.0.0'] }, 'red'] },
 *     },
 *   },
 * });
 * for (const [name, def] of Object.entries(flags)) await flagsAdmin(client).set(name, def);
 * for (const i of issues) console.warn(i.flag, i.path, i.reason);
 * ```
 */
export function fromFlagd(
  document: string | object,
  options: {
    /**
     * Whose `fractional` to reproduce: `flagd` (flagd 0.15 and later, and its providers since;
     * the default) or `flagd-v1` (flagd 0.14 and earlier, which bucketed differently).
     */
    fractional?: 'flagd' | 'flagd-v1';
  } = {},
): FlagdImport {
  const hash = options.fractional ?? 'flagd';
  const doc: unknown = typeof document === 'string' ? JSON.parse(document) : document;
  const issues: FlagdIssue[] = [];
  const flags: Record<string, FlagDefinition> = {};
  if (!isObject(doc)) throw new TypeError('a flagd document is an object with "flags"');
  const evaluators = isObject(doc.$evaluators) ? doc.$evaluators : {};
  const entries: [string, unknown][] = Array.isArray(doc.flags)
    ? doc.flags.map((f, i) => [isObject(f) && typeof f.key === 'string' ? f.key : `[${i}]`, f])
    : isObject(doc.flags)
      ? Object.entries(doc.flags)
      : [];
  for (const [key, f] of entries) {
    const def = mapFlag(key, f, evaluators, hash, issues);
    if (def) flags[key] = def;
  }
  return { flags, issues };
}
