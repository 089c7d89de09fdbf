/**
 * Feature flags stored in etcd: each flag is one JSON document at `<prefix><name>` (prefix
 * `flags/` by default), written and validated by `flagsAdmin()`, read by `flags()`.
 *
 * A `Flags` reader loads every flag with one range, then keeps its copy current with one watch
 * from the revision after it: evaluating a flag makes no request and is synchronous. It never
 * throws: a missing flag, a wrong type or a malformed document gives the caller's default,
 * with the reason in the `…Details()` variant (shaped like OpenFeature's resolution details).
 *
 * Definition (see `FlagDefinition`):
 *
 *   { "type": "boolean", "value": false, "enabled": true,
 *     "rules": [{ "attribute": "country", "op": "in", "value": ["FR", "BE"], "serve": true }],
 *     "rollout": { "percentage": 10, "serve": true } }
 *
 * Evaluation: disabled → the caller's default (reason DISABLED); else the first rule whose
 * attribute matches serves its value (TARGETING_MATCH); else, with a rollout and a targeting
 * key, the key's bucket — sha256(name, NUL, targetingKey), first 32 bits scaled to [0, 100) —
 * below `percentage` serves `rollout.serve`, others get `rollout.otherwise` (default: `value`)
 * (SPLIT); else `value` (STATIC when the flag has no rules nor rollout, DEFAULT otherwise).
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Client, EtcdError, type KeyValue, type Namespace } from '../src/core.js';
import { Feed, Mirror, type MirrorChange } from './internal/mirror.js';

type KV = Client | Namespace;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const FLAG_TYPES = ['boolean', 'string', 'number', 'json'] as const;
export type FlagType = (typeof FLAG_TYPES)[number];

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

export interface FlagRule<T extends JsonValue = JsonValue> {
  /** A context attribute: `targetingKey`, a top-level name, or a dotted path (`account.plan`). */
  attribute: string;
  op: RuleOp;
  value: JsonValue;
  /** Served when the rule matches. */
  serve: T;
}

export interface FlagRollout<T extends JsonValue = JsonValue> {
  /** 0–100 (decimals allowed): the share of targeting keys that get `serve`. */
  percentage: number;
  serve: T;
  /** Served to keys outside the percentage, and when there is no targeting key (default: `value`). */
  otherwise?: T;
}

export interface FlagDefinition<T extends JsonValue = JsonValue> {
  type: FlagType;
  /** Served when no rule matches and no rollout applies. */
  value: T;
  /** Default true. A disabled flag evaluates to the caller's default (reason DISABLED). */
  enabled?: boolean;
  /** Tried in order; the first that matches serves its value. */
  rules?: FlagRule<T>[];
  rollout?: FlagRollout<T>;
  description?: string;
}

/** Attributes rules look at; `targetingKey` identifies the subject (user, tenant, …) for rollouts. */
export interface EvaluationContext {
  targetingKey?: string;
  [attribute: string]: unknown;
}

export type FlagReason = 'STATIC' | 'DEFAULT' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'ERROR';
export type FlagErrorCode =
  | 'PROVIDER_NOT_READY'
  | 'FLAG_NOT_FOUND'
  | 'PARSE_ERROR'
  | 'TYPE_MISMATCH'
  | 'GENERAL';

/** The outcome of an evaluation, shaped like OpenFeature's evaluation details. */
export interface FlagDetails<T> {
  flagKey: string;
  value: T;
  /** Which branch served: `value`, `rules[i]`, `rollout`, `otherwise`, `disabled`, `default` (error). */
  variant: string;
  reason: FlagReason;
  errorCode?: FlagErrorCode;
  errorMessage?: string;
  /** The copy may be out of date (the watch is down). */
  stale: boolean;
  /** Mod revision of the flag's document, when there is one. */
  revision?: bigint;
}

/** A flag definition was refused by `flagsAdmin().set()` / `validateFlag()`. */
export class InvalidFlagError extends EtcdError {
  static CODE = 'flag-invalid';
  readonly problems: string[];
  constructor(message: string, problems: string[]) {
    super(message);
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> =>
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

function checkFlagName(name: unknown): string {
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

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/** A rollout bucket in [0, 100): sha256(name, a NUL byte, targetingKey), first 32 bits, scaled. */
export function rolloutBucket(name: string, targetingKey: string): number {
  const h = createHash('sha256').update(name).update('\0').update(targetingKey).digest();
  return (h.readUInt32BE(0) / 2 ** 32) * 100;
}

interface Compiled {
  def: FlagDefinition;
  regexes: (RegExp | undefined)[];
}

type Entry = { ok: true; flag: Compiled; revision: bigint } | { ok: false; error: string; revision: bigint };

function compile(kv: KeyValue): Entry {
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

function resolve(
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

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

export interface FlagsOptions {
  /** Where the flags live (default `flags/`). */
  prefix?: string;
  /** Aborting closes the reader. */
  signal?: AbortSignal;
  /** Deadline of each request (initial load, re-syncs); default: the client's. */
  timeoutMs?: number;
  /** Probe the watch this often to detect that it is down (default 1000 ms; 0: never). */
  heartbeatMs?: number;
  /** `stale` after this long without an answer from the watch (default 3 × heartbeatMs). */
  staleAfterMs?: number;
}

/** Flags whose document changed (put or deleted) at `revision`. */
export interface FlagChange {
  flags: string[];
  revision: bigint;
}

export interface FlagsEvents {
  change: [change: FlagChange];
  /** The watch went down (true: values may be out of date) or is back and caught up (false). */
  stale: [stale: boolean];
  close: [];
}

const DEFAULT_PREFIX = 'flags/';

export class Flags extends EventEmitter<FlagsEvents> {
  readonly prefix: string;
  readonly #mirror: Mirror;
  readonly #entries = new Map<string, Entry>();
  readonly #feed = new Feed<FlagChange>();
  #ready: Promise<void> | undefined;
  #loaded = false;

  /** @internal Use `flags()`. */
  constructor(client: KV, opts: FlagsOptions = {}) {
    super();
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.#mirror = new Mirror(client, Buffer.from(this.prefix), opts, {
      change: (changes, revision) => this.#onChanges(changes, revision),
      stale: (stale) => this.#emit('stale', stale),
      closed: () => {
        this.#feed.end();
        this.#emit('close');
      },
    });
  }

  /** Resolves once every flag is loaded (the first call starts loading). Evaluations before that give defaults. */
  ready(): Promise<void> {
    this.#ready ??= this.#mirror.start().then(
      () => {
        for (const [key, kv] of this.#mirror.entries)
          this.#entries.set(key.slice(this.prefix.length), compile(kv));
        this.#loaded = true;
      },
      (e) => {
        this.#ready = undefined;
        throw e;
      },
    );
    return this.#ready;
  }

  get loaded(): boolean {
    return this.#loaded;
  }
  /** True while the watch is down: evaluations serve the last values known. */
  get stale(): boolean {
    return this.#mirror.stale;
  }
  /** The store revision the copy reflects. */
  get revision(): bigint {
    return this.#mirror.revision;
  }
  get closed(): boolean {
    return this.#mirror.closed;
  }

  /** Names of the flags in the copy (valid or not). */
  names(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /** The stored definition of a flag, if it is present and valid. */
  definition(name: string): FlagDefinition | undefined {
    const e = this.#entries.get(name);
    return e?.ok ? e.flag.def : undefined;
  }

  getBoolean(name: string, defaultValue: boolean, ctx?: EvaluationContext): boolean {
    return this.evaluate(name, 'boolean', defaultValue, ctx).value;
  }
  getString(name: string, defaultValue: string, ctx?: EvaluationContext): string {
    return this.evaluate(name, 'string', defaultValue, ctx).value;
  }
  getNumber(name: string, defaultValue: number, ctx?: EvaluationContext): number {
    return this.evaluate(name, 'number', defaultValue, ctx).value;
  }
  getJSON<T extends JsonValue>(name: string, defaultValue: T, ctx?: EvaluationContext): T {
    return this.evaluate(name, 'json', defaultValue, ctx).value;
  }

  getBooleanDetails(name: string, defaultValue: boolean, ctx?: EvaluationContext): FlagDetails<boolean> {
    return this.evaluate(name, 'boolean', defaultValue, ctx);
  }
  getStringDetails(name: string, defaultValue: string, ctx?: EvaluationContext): FlagDetails<string> {
    return this.evaluate(name, 'string', defaultValue, ctx);
  }
  getNumberDetails(name: string, defaultValue: number, ctx?: EvaluationContext): FlagDetails<number> {
    return this.evaluate(name, 'number', defaultValue, ctx);
  }
  getJSONDetails<T extends JsonValue>(
    name: string,
    defaultValue: T,
    ctx?: EvaluationContext,
  ): FlagDetails<T> {
    return this.evaluate(name, 'json', defaultValue, ctx);
  }

  /** Evaluates a flag of the given type. Never throws. */
  evaluate<T>(name: string, type: FlagType, defaultValue: T, ctx: EvaluationContext = {}): FlagDetails<T> {
    const stale = this.#mirror.stale;
    const fail = (errorCode: FlagErrorCode, errorMessage: string, revision?: bigint): FlagDetails<T> => ({
      flagKey: name,
      value: defaultValue,
      variant: 'default',
      reason: 'ERROR',
      errorCode,
      errorMessage,
      stale,
      revision,
    });
    try {
      if (!this.#loaded) return fail('PROVIDER_NOT_READY', 'flags are not loaded yet: await ready()');
      const e = this.#entries.get(name);
      if (!e) return fail('FLAG_NOT_FOUND', `flag ${JSON.stringify(name)} not found under ${this.prefix}`);
      if (!e.ok)
        return fail('PARSE_ERROR', `flag ${JSON.stringify(name)} is malformed: ${e.error}`, e.revision);
      const def = e.flag.def;
      if (def.type !== type) {
        return fail(
          'TYPE_MISMATCH',
          `flag ${JSON.stringify(name)} is of type ${def.type}, asked for ${type}`,
          e.revision,
        );
      }
      if (def.enabled === false) {
        return {
          flagKey: name,
          value: defaultValue,
          variant: 'disabled',
          reason: 'DISABLED',
          stale,
          revision: e.revision,
        };
      }
      const r = resolve(name, e.flag, isObject(ctx) ? (ctx as EvaluationContext) : {});
      return {
        flagKey: name,
        value: r.value as T,
        variant: r.variant,
        reason: r.reason,
        stale,
        revision: e.revision,
      };
    } catch (err) {
      return fail(
        'GENERAL',
        `evaluating ${JSON.stringify(name)} failed: ${(err as Error)?.message ?? String(err)}`,
      );
    }
  }

  #onChanges(changes: MirrorChange[], revision: bigint): void {
    const names: string[] = [];
    for (const c of changes) {
      const name = c.key.slice(this.prefix.length);
      if (c.next) this.#entries.set(name, compile(c.next));
      else this.#entries.delete(name);
      if (!names.includes(name)) names.push(name);
    }
    const change: FlagChange = { flags: names, revision };
    this.#feed.push(change);
    this.#emit('change', change);
  }

  #emit<K extends keyof FlagsEvents>(name: K, ...args: FlagsEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: FlagsEvents[K]) => boolean)(name, ...args);
    } catch {
      // A throwing listener must not break the reader.
    }
  }

  /** Changes from now on, until closed (or `signal` aborts). */
  changes(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<FlagChange> {
    return this.#feed.iterate(opts.signal);
  }

  /** Stops watching; evaluations keep serving the last values. Idempotent. */
  close(): void {
    this.#mirror.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** A flag reader on `client`: `await f.ready()`, then evaluate synchronously. */
export function flags(client: KV, opts: FlagsOptions = {}): Flags {
  return new Flags(client, opts);
}

// ---------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------

export interface FlagEntry {
  name: string;
  /** The definition, when it is valid. */
  definition: FlagDefinition | undefined;
  /** Why the stored document is not a valid definition. */
  error: string | undefined;
  revision: bigint;
}

export interface FlagsAdmin {
  /** Validates `def` and stores it (throws `InvalidFlagError` listing every problem). Resolves with the revision. */
  set<T extends JsonValue>(
    name: string,
    def: FlagDefinition<T>,
    opts?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<bigint>;
  get(name: string, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<FlagEntry | undefined>;
  /** Resolves true if the flag existed. */
  delete(name: string, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<boolean>;
  list(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<FlagEntry[]>;
}

function entryOf(prefix: string, kv: KeyValue): FlagEntry {
  const e = compile(kv);
  return {
    name: kv.keyText().slice(prefix.length),
    definition: e.ok ? e.flag.def : undefined,
    error: e.ok ? undefined : e.error,
    revision: kv.modRevision,
  };
}

/** Writes flags under `prefix` (default `flags/`). */
export function flagsAdmin(client: KV, opts: { prefix?: string } = {}): FlagsAdmin {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  return {
    async set(name, def, o) {
      validateFlag(name, def);
      const r = await client.put(`${prefix}${name}`, JSON.stringify(def), o);
      return r.header.revision;
    },
    async get(name, o) {
      checkFlagName(name);
      const kv = await client.get(`${prefix}${name}`, o);
      return kv ? entryOf(prefix, kv) : undefined;
    },
    async delete(name, o) {
      checkFlagName(name);
      return (await client.delete(`${prefix}${name}`, o)).deleted > 0n;
    },
    async list(o) {
      const r = await client.range({ prefix }, { ...o, sort: { target: 'key', order: 'ascend' } });
      return r.kvs.map((kv) => entryOf(prefix, kv));
    },
  };
}
