/**
 * An OpenFeature **web** provider (`@openfeature/web-sdk`, the static-context paradigm) for flags
 * stored in etcd, beside the server one (`concord-kv/recipes/openfeature`). It runs in a browser
 * on the fetch entry point with no polyfill.
 *
 * ```ts
 * import { OpenFeature } from '@openfeature/web-sdk';
 * import { Client } from 'concord-kv/fetch';
 * import { ConcordWebFlagProvider } from 'concord-kv/recipes/openfeature-web';
 * const client = new Client({ endpoints: 'https://etcd.example.com:2379' });
 * await OpenFeature.setProviderAndWait(new ConcordWebFlagProvider(client), { targetingKey: user.id });
 * const on = OpenFeature.getClient().getBooleanValue('new-checkout', false);
 * ```
 *
 * On the web the evaluation context is the one user of the page, set once and changed rarely
 * (`OpenFeature.setContext`). So the provider evaluates every flag when the context or a flag
 * changes, with the flags' own evaluation (`compile`/`resolve`, as `flags()` does), and answers
 * each `get…Value` from that table: synchronous, no request. One watch on the prefix keeps the
 * table current; each change emits CONFIGURATION_CHANGED with the names of the flags it touched.
 *
 * @module concord-kv/recipes/openfeature-web
 */
import {
  type EvaluationContext,
  type FlagMetadata,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  StandardResolutionReasons,
} from '@openfeature/web-sdk';
import type { Client, Namespace, Watch } from '../src/core.js';
import { DEFAULT_PREFIX, type FlagType, isObject } from './flags-definition.js';
import {
  type CompiledEntry,
  compile,
  type EvaluationContext as FlagContext,
  resolve,
} from './flags-evaluation.js';

/** What `ConcordWebFlagProvider` takes. */
export interface WebFlagProviderOptions {
  /** Where the flags live: each flag is the key `<prefix><name>` (default `flags/`, as `flags()`). */
  prefix?: string;
}

/** One flag evaluated for the current context: what `get…Value` answers, whatever the default. */
type Evaluated =
  | {
      ok: true;
      type: FlagType;
      enabled: boolean;
      value: unknown;
      variant: string;
      reason: string;
      revision: bigint;
    }
  | { ok: false; errorCode: 'PARSE_ERROR'; message: string; revision: bigint };

/**
 * An OpenFeature web provider serving the flags under a prefix, evaluated for the page's static
 * context. Flags have the format `flagsAdmin()` writes; evaluation is the same as `flags()`'s.
 */
export class ConcordWebFlagProvider implements Provider {
  /** The provider's name as OpenFeature reports it: `concord`. */
  readonly metadata = {
    /** `concord`. */
    name: 'concord',
  } as const;
  /** A client (web) provider: one evaluation context, the page's. */
  readonly runsOn = 'client' as const;
  /** Where OpenFeature listens for CONFIGURATION_CHANGED and ERROR. */
  readonly events = new OpenFeatureEventEmitter();
  readonly #kv: Namespace;
  readonly #entries = new Map<string, CompiledEntry>();
  #table = new Map<string, Evaluated>();
  #context: FlagContext = {};
  #watch: Watch | undefined;
  #loaded = false;

  constructor(client: Client | Namespace, opts: WebFlagProviderOptions = {}) {
    this.#kv = client.namespace(opts.prefix ?? DEFAULT_PREFIX);
  }

  /** Called by OpenFeature: loads every flag, evaluates them for `context`, starts following changes. */
  async initialize(context?: EvaluationContext): Promise<void> {
    this.#context = toFlagContext(context);
    if (this.#watch) return;
    const r = await this.#kv.range({ prefix: '' });
    for (const kv of r.kvs) this.#entries.set(kv.keyText(), compile(kv));
    this.#loaded = true;
    this.#evaluateAll();
    this.#watch = await this.#kv.watch({ prefix: '' }, { startRevision: r.header.revision + 1n });
    void this.#follow(this.#watch);
  }

  /** Called by OpenFeature when the page's context changes: every flag is evaluated again. */
  onContextChange(_old: EvaluationContext, next: EvaluationContext): void {
    this.#context = toFlagContext(next);
    this.#evaluateAll();
  }

  /** Called by OpenFeature on shutdown: stops the watch. */
  async onClose(): Promise<void> {
    this.#watch?.cancel();
    this.#watch = undefined;
  }

  async #follow(watch: Watch): Promise<void> {
    try {
      for await (const batch of watch.batches()) {
        if (batch.events.length === 0) continue;
        const names = new Set<string>();
        for (const ev of batch.events) {
          const name = ev.kv.keyText();
          names.add(name);
          if (ev.type === 'put') this.#entries.set(name, compile(ev.kv));
          else this.#entries.delete(name);
        }
        this.#evaluateAll();
        this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [...names] });
      }
    } catch (e) {
      this.events.emit(ProviderEvents.Error, { message: `the flag watch failed: ${String(e)}` });
    }
  }

  #evaluateAll(): void {
    const table = new Map<string, Evaluated>();
    for (const [name, e] of this.#entries) {
      if (!e.ok) {
        table.set(name, { ok: false, errorCode: 'PARSE_ERROR', message: e.error, revision: e.revision });
        continue;
      }
      const def = e.flag.def;
      const r = resolve(name, e.flag, this.#context);
      table.set(name, {
        ok: true,
        type: def.type,
        enabled: def.enabled !== false,
        value: r.value,
        variant: r.variant,
        reason: r.reason,
        revision: e.revision,
      });
    }
    this.#table = table;
  }

  #answer<T>(name: string, type: FlagType, defaultValue: T): ResolutionDetails<T> {
    const error = (errorCode: string, errorMessage: string, revision?: bigint): ResolutionDetails<T> => ({
      value: defaultValue,
      reason: StandardResolutionReasons.ERROR,
      errorCode: errorCode as ResolutionDetails<T>['errorCode'],
      errorMessage,
      flagMetadata: metadata(revision),
    });
    if (!this.#loaded) return error('PROVIDER_NOT_READY', 'flags are not loaded yet');
    const e = this.#table.get(name);
    if (!e) return error('FLAG_NOT_FOUND', `flag ${JSON.stringify(name)} not found`);
    if (!e.ok)
      return error(e.errorCode, `flag ${JSON.stringify(name)} is malformed: ${e.message}`, e.revision);
    if (e.type !== type)
      return error(
        'TYPE_MISMATCH',
        `flag ${JSON.stringify(name)} is of type ${e.type}, asked for ${type}`,
        e.revision,
      );
    if (!e.enabled)
      return {
        value: defaultValue,
        variant: 'disabled',
        reason: StandardResolutionReasons.DISABLED,
        flagMetadata: metadata(e.revision),
      };
    return { value: e.value as T, variant: e.variant, reason: e.reason, flagMetadata: metadata(e.revision) };
  }

  /** Called by OpenFeature to evaluate a boolean flag. */
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): ResolutionDetails<boolean> {
    return this.#answer(flagKey, 'boolean', defaultValue);
  }

  /** Called by OpenFeature to evaluate a string flag. */
  resolveStringEvaluation(flagKey: string, defaultValue: string): ResolutionDetails<string> {
    return this.#answer(flagKey, 'string', defaultValue);
  }

  /** Called by OpenFeature to evaluate a number flag. */
  resolveNumberEvaluation(flagKey: string, defaultValue: number): ResolutionDetails<number> {
    return this.#answer(flagKey, 'number', defaultValue);
  }

  /** Called by OpenFeature to evaluate a JSON flag. */
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
    return this.#answer(flagKey, 'json', defaultValue);
  }
}

function toFlagContext(context: EvaluationContext | undefined): FlagContext {
  return isObject(context) ? (context as FlagContext) : {};
}

function metadata(revision: bigint | undefined): FlagMetadata {
  return revision === undefined ? {} : { revision: Number(revision) };
}
