/**
 * An OpenFeature provider (`@openfeature/server-sdk`) on top of `flags()`: application code keeps
 * the vendor-neutral OpenFeature API, flags live in etcd.
 *
 * ```ts
 * import { OpenFeature } from '@openfeature/server-sdk';
 * import { ConcordFlagProvider } from 'concord-kv/recipes/openfeature';
 * await OpenFeature.setProviderAndWait(new ConcordFlagProvider(client, { prefix: 'flags/' }));
 * const on = await OpenFeature.getClient().getBooleanValue('new-checkout', false, { targetingKey: userId });
 * ```
 *
 * `@openfeature/server-sdk` is an optional peer dependency: this module is a separate entry
 * point (`concord-kv/recipes/openfeature`) so that nobody else needs it installed.
 *
 * Resolution details carry the reason (STATIC, DEFAULT, TARGETING_MATCH, SPLIT, DISABLED,
 * ERROR), the variant (a named variant's name, else `value`, `rules[i]`, `rollout`, `otherwise`,
 * `disabled`) and, on errors,
 * the error code (FLAG_NOT_FOUND, TYPE_MISMATCH, PARSE_ERROR, PROVIDER_NOT_READY, GENERAL);
 * `flagMetadata` has the document's `revision` and `stale`. Events: CONFIGURATION_CHANGED with
 * the changed flag names, STALE while the watch is down, READY once it is back and caught up,
 * ERROR if the underlying reader closes (its client was closed).
 *
 * @module concord-kv/recipes/openfeature
 */
import {
  type EvaluationContext,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import type { Client, Namespace } from '../src/core.js';
import { Flags, type FlagsOptions, type FlagType } from './flags.js';
import { followReader, toResolution } from './internal/openfeature-resolution.js';

/**
 * An OpenFeature server provider that serves flags stored in etcd (see `Flags` for their format
 * and evaluation). Evaluations are synchronous reads of a watched copy, so they cost no request.
 *
 * @example
 * ```ts
 * import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
 * import { ConcordFlagProvider } from 'concord-kv/recipes/openfeature';
 * await OpenFeature.setProviderAndWait(new ConcordFlagProvider(client));
 * OpenFeature.addHandler(ProviderEvents.Stale, () => console.warn('flags may be out of date'));
 * const theme = await OpenFeature.getClient().getStringValue('checkout-theme', 'light', { targetingKey: userId });
 * ```
 */
export class ConcordFlagProvider implements Provider {
  /** The provider's name as OpenFeature reports it: `concord`. */
  readonly metadata = {
    /** `concord`. */
    name: 'concord',
  } as const;
  /** A server provider: one shared copy of the flags, evaluated per request context. */
  readonly runsOn = 'server' as const;
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
  constructor(source: Client | Namespace | Flags, opts: FlagsOptions = {}) {
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

  /** Called by OpenFeature to evaluate a boolean flag. */
  async resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    return this.#resolve(flagKey, 'boolean', defaultValue, context);
  }

  /** Called by OpenFeature to evaluate a string flag. */
  async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return this.#resolve(flagKey, 'string', defaultValue, context);
  }

  /** Called by OpenFeature to evaluate a number flag. */
  async resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<number>> {
    return this.#resolve(flagKey, 'number', defaultValue, context);
  }

  /** Called by OpenFeature to evaluate a JSON flag. */
  async resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return this.#resolve(flagKey, 'json', defaultValue, context);
  }
}
