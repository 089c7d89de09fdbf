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
 * A rule's condition may combine tests (`all`/`any`/`not`); a rule or the default may serve a
 * named variant (`variants`, `variant`, `defaultVariant`) or a weighted `split` of variants,
 * bucketed by the same hash, or as flagd's `fractional` with a `bucketing` (see
 * docs/recipes/flags.md).
 *
 * This file is the reader; the definition and its validation are in flags-definition.ts, the
 * evaluation (pure) in flags-evaluation.ts, the writer in flags-admin.ts. Everything public is
 * exported from here.
 */
import { type Client, Emitter, type Namespace } from '../src/core.js';
import {
  DEFAULT_PREFIX,
  type FlagDefinition,
  type FlagType,
  isObject,
  type JsonValue,
} from './flags-definition.js';
import {
  type CompiledEntry,
  compile,
  type EvaluationContext,
  type FlagDetails,
  type FlagErrorCode,
  resolve,
} from './flags-evaluation.js';
import { Feed, Mirror, type MirrorChange } from './internal/mirror.js';

export { type FlagEntry, type FlagsAdmin, flagsAdmin } from './flags-admin.js';
export {
  type AllCondition,
  type AnyCondition,
  type AttributeCondition,
  FLAG_TYPES,
  type FlagCondition,
  type FlagDefinition,
  type FlagOutcome,
  type FlagRollout,
  type FlagRule,
  type FlagSplit,
  type FlagType,
  flagProblems,
  InvalidFlagError,
  type JsonValue,
  type NotCondition,
  RULE_OPS,
  type RuleOp,
  validateFlag,
} from './flags-definition.js';
export {
  type EvaluationContext,
  type FlagDetails,
  type FlagErrorCode,
  type FlagReason,
  rolloutBucket,
  splitVariant,
} from './flags-evaluation.js';
export { type FlagdImport, type FlagdIssue, fromFlagd } from './flags-flagd.js';

type KV = Client | Namespace;

/** What `flags()` (and the OpenFeature provider) take. */
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
  /** The names of the flags that changed. */
  flags: string[];
  /** The store revision of the change. */
  revision: bigint;
}

/** The events of a `Flags` reader, with their arguments. */
export interface FlagsEvents {
  /** Flags were put or deleted. */
  change: [change: FlagChange];
  /** The watch went down (true: values may be out of date) or is back and caught up (false). */
  stale: [stale: boolean];
  /** The reader was closed (or its client was). */
  close: [];
}

/**
 * A feature flag reader: a live copy of every flag under a prefix, kept current by one watch, so
 * evaluating a flag is synchronous and makes no request. It never throws on evaluation: a
 * missing flag, a wrong type or a malformed document serves the caller's default, with the
 * reason in the `…Details()` variant. Get one with `flags()`; write flags with `flagsAdmin()`.
 *
 * @example
 * ```ts
 * import { flags } from 'concord-kv/recipes';
 * const f = flags(client);
 * await f.ready();
 * if (f.getBoolean('new-checkout', false, { targetingKey: user.id, country: user.country })) {
 *   // …
 * }
 * f.on('change', ({ flags }) => console.log('changed:', flags));
 * ```
 */
export class Flags extends Emitter<FlagsEvents> {
  /** Where the flags live: each flag is the key `<prefix><name>`. */
  readonly prefix: string;
  readonly #mirror: Mirror;
  readonly #entries = new Map<string, CompiledEntry>();
  readonly #feed = new Feed<FlagChange>();
  #ready: Promise<void> | undefined;
  #loaded = false;

  /** @internal Use `flags()`. */
  constructor(client: KV, opts: FlagsOptions = {}) {
    super();
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.#mirror = new Mirror(client, this.prefix, opts, {
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

  /** Whether the first load has finished (before it, evaluations serve defaults). */
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
  /** Whether the reader was closed (evaluations then serve the last values known). */
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

  /** A boolean flag's value in `ctx`, or `defaultValue` when it cannot be evaluated. */
  getBoolean(name: string, defaultValue: boolean, ctx?: EvaluationContext): boolean {
    return this.evaluate(name, 'boolean', defaultValue, ctx).value;
  }
  /** A string flag's value in `ctx`, or `defaultValue` when it cannot be evaluated. */
  getString(name: string, defaultValue: string, ctx?: EvaluationContext): string {
    return this.evaluate(name, 'string', defaultValue, ctx).value;
  }
  /** A number flag's value in `ctx`, or `defaultValue` when it cannot be evaluated. */
  getNumber(name: string, defaultValue: number, ctx?: EvaluationContext): number {
    return this.evaluate(name, 'number', defaultValue, ctx).value;
  }
  /**
   * A JSON flag's value in `ctx` (not checked against `T`), or `defaultValue` when it cannot be
   * evaluated.
   */
  getJSON<T extends JsonValue>(name: string, defaultValue: T, ctx?: EvaluationContext): T {
    return this.evaluate(name, 'json', defaultValue, ctx).value;
  }

  /** A boolean flag's value with the reason it was served (the rule, rollout or error). */
  getBooleanDetails(name: string, defaultValue: boolean, ctx?: EvaluationContext): FlagDetails<boolean> {
    return this.evaluate(name, 'boolean', defaultValue, ctx);
  }
  /** A string flag's value with the reason it was served (the rule, rollout or error). */
  getStringDetails(name: string, defaultValue: string, ctx?: EvaluationContext): FlagDetails<string> {
    return this.evaluate(name, 'string', defaultValue, ctx);
  }
  /** A number flag's value with the reason it was served (the rule, rollout or error). */
  getNumberDetails(name: string, defaultValue: number, ctx?: EvaluationContext): FlagDetails<number> {
    return this.evaluate(name, 'number', defaultValue, ctx);
  }
  /** A JSON flag's value with the reason it was served (the rule, rollout or error). */
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

  /** `await using f = flags(client)` closes the reader at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** A flag reader on `client`: `await f.ready()`, then evaluate synchronously. */
export function flags(client: KV, opts: FlagsOptions = {}): Flags {
  return new Flags(client, opts);
}
