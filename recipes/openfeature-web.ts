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
 * On the web the evaluation context is the one user of the page (`OpenFeature.setContext`), and
 * every `get…Value` is answered synchronously. The provider sits on a `flags()` reader, as the
 * server provider does: a watched copy of the prefix, evaluated locally for that context, so an
 * answer costs no request. Each change emits CONFIGURATION_CHANGED with the names of the flags
 * it touched, STALE while the watch is down, READY once it is back and caught up, and ERROR if
 * the reader closes.
 *
 * @module concord-kv/recipes/openfeature-web
 */
import {
  type EvaluationContext,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
} from '@openfeature/web-sdk';
import type { Client, Namespace } from '../src/core.js';
import { Flags, type FlagsOptions, type FlagType } from './flags.js';
import { followReader, toResolution } from './internal/openfeature-resolution.js';

/** What `ConcordWebFlagProvider` takes: the options of the `flags()` reader it makes. */
export type WebFlagProviderOptions = FlagsOptions;

/**
 * An OpenFeature web provider serving the flags under a prefix, evaluated for the page's static
 * context. Flags have the format `flagsAdmin()` writes; evaluation is `flags()`'s.
 */
export class ConcordWebFlagProvider implements Provider {
  /** The provider's name as OpenFeature reports it: `concord`. */
  readonly metadata = {
    /** `concord`. */
    name: 'concord',
  } as const;
  /** A client (web) provider: one evaluation context, the page's. */
  readonly runsOn = 'client' as const;
  /** Where OpenFeature listens for CONFIGURATION_CHANGED, STALE, READY and ERROR. */
  readonly events = new OpenFeatureEventEmitter();
  /** The reader behind the provider. */
  readonly flags: Flags;
  readonly #owns: boolean;
  #unfollow: (() => void) | undefined;

  /**
   * On a client (or namespace): the provider creates its own reader with `opts` and closes it
   * in `onClose()`. On an existing `Flags` reader: it is used as is and left open.
   */
  constructor(source: Client | Namespace | Flags, opts: WebFlagProviderOptions = {}) {
    if (source instanceof Flags) {
      this.flags = source;
      this.#owns = false;
    } else {
      this.flags = new Flags(source, opts);
      this.#owns = true;
    }
  }

  /** Called by OpenFeature: loads every flag and starts following changes. */
  async initialize(_context?: EvaluationContext): Promise<void> {
    await this.flags.ready();
    this.#unfollow ??= followReader(this.flags, {
      changed: (d) => this.events.emit(ProviderEvents.ConfigurationChanged, d),
      stale: (d) => this.events.emit(ProviderEvents.Stale, d),
      ready: (d) => this.events.emit(ProviderEvents.Ready, d),
      error: (d) => this.events.emit(ProviderEvents.Error, d),
    });
  }

  /** Called by OpenFeature on shutdown: stops listening, and closes the reader if the provider made it. */
  async onClose(): Promise<void> {
    this.#unfollow?.();
    this.#unfollow = undefined;
    if (this.#owns) this.flags.close();
  }

  #resolve<T>(
    name: string,
    type: FlagType,
    defaultValue: T,
    context: EvaluationContext,
  ): ResolutionDetails<T> {
    return toResolution(this.flags.evaluate(name, type, defaultValue, context));
  }

  /** Called by OpenFeature, with the page's context, to evaluate a boolean flag. */
  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): ResolutionDetails<boolean> {
    return this.#resolve(flagKey, 'boolean', defaultValue, context);
  }

  /** Called by OpenFeature, with the page's context, to evaluate a string flag. */
  resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): ResolutionDetails<string> {
    return this.#resolve(flagKey, 'string', defaultValue, context);
  }

  /** Called by OpenFeature, with the page's context, to evaluate a number flag. */
  resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
  ): ResolutionDetails<number> {
    return this.#resolve(flagKey, 'number', defaultValue, context);
  }

  /** Called by OpenFeature, with the page's context, to evaluate a JSON flag. */
  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): ResolutionDetails<T> {
    return this.#resolve(flagKey, 'json', defaultValue, context);
  }
}
