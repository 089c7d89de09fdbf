/**
 * A typed event emitter with the part of Node's EventEmitter surface the recipes use, so that
 * classes such as `Flags` and `ServiceView` keep their `on('change', …)` API in runtimes without
 * `node:events` (browsers, workers) and without pulling in a polyfill.
 *
 * Behaviour follows Node's where it is observable: listeners run synchronously in the order they
 * were added; `emit()` calls the listeners present when it started (one added or removed during an
 * emit takes effect from the next one); `off()` removes the most recently added registration of
 * that function, and also a `once()` registration of it; `emit('error', e)` with no 'error'
 * listener throws `e`.
 */

/** Event name → listener arguments, as in `EventEmitter<{ change: [value: number] }>`. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** A listener of an event whose arguments are `A`. */
export type Listener<A extends unknown[]> = (...args: A) => void;

interface Registration {
  readonly listener: (...args: never) => void;
  readonly fn: (...args: never) => void;
}

/**
 * Node's EventEmitter surface (on, once, off, emit, listenerCount…) for the events in `E`,
 * without `node:events`: what `Flags`, `ServiceView`, `Cache` and the watch state extend.
 */
export class Emitter<E extends EventMap<E>> {
  #listeners = new Map<keyof E, Registration[]>();

  /** Adds `listener` for `event`; the same function added twice runs twice. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.#add(event, { listener, fn: listener });
  }

  /** Node's alias of `on()`. */
  addListener<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.on(event, listener);
  }

  /** Adds `listener` for the next `event` only. */
  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const registration: Registration = {
      listener,
      fn: (...args: E[K]) => {
        this.#remove(event, registration);
        listener(...args);
      },
    };
    return this.#add(event, registration);
  }

  /** Removes the most recent registration of `listener` for `event` (by `on()` or `once()`). */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const list = this.#listeners.get(event);
    if (!list) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i] as Registration;
      if (r.listener === listener) {
        this.#remove(event, r);
        break;
      }
    }
    return this;
  }

  /** Node's alias of `off()`. */
  removeListener<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.off(event, listener);
  }

  /** Removes every listener of `event`, or of every event when none is given. */
  removeAllListeners(event?: keyof E): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  /** Calls each listener of `event` with `args`; true when there was one. */
  emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) {
      if (event === 'error') throw args[0];
      return false;
    }
    for (const r of [...list]) (r.fn as Listener<E[K]>)(...args);
    return true;
  }

  /** How many listeners `event` has (a `once()` one counts until it has run). */
  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** The listeners of `event`, as passed to `on()`/`once()`. */
  listeners<K extends keyof E>(event: K): Listener<E[K]>[] {
    return (this.#listeners.get(event) ?? []).map((r) => r.listener as Listener<E[K]>);
  }

  #add(event: keyof E, r: Registration): this {
    const list = this.#listeners.get(event);
    if (list) list.push(r);
    else this.#listeners.set(event, [r]);
    return this;
  }

  #remove(event: keyof E, r: Registration): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    const i = list.indexOf(r);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#listeners.delete(event);
  }
}
