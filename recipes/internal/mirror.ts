/**
 * A live in-memory copy of every key under a prefix, shared by the registry's `discover()` and
 * `flags()`: one range, then one watch from the revision after it (no gap, nothing twice).
 *
 * The copy is `stale` (it keeps serving the last values) while its watch is not caught up:
 * from the watch's `disconnected` until it is `connected` again and the mirror has applied the
 * events that caught it up (the hub resumes from the next revision, so none is missed).
 *
 * A member that hangs without closing the stream says nothing, so the mirror also probes the
 * stream every `heartbeatMs` with a progress request; if nothing (event or progress) has come
 * back for `staleAfterMs`, the copy is stale too, and the first answer after that triggers a
 * fresh range that replaces the copy (events at or before its revision are then skipped). A
 * watch that fails outright (compaction, cancellation) is replaced the same way: range, then a
 * new watch.
 */
import {
  Emitter,
  EtcdError,
  type EventMap,
  type KeyValue,
  type Namespace,
  type Watch,
  type WatchEvent,
  type WatchStateChange,
} from '../../src/core.js';

export interface MirrorChange {
  key: string;
  /** The entry before the change (undefined: the key is new). */
  prev: KeyValue | undefined;
  /** The entry after the change (undefined: the key was deleted). */
  next: KeyValue | undefined;
  /** The change's revision (for a re-sync: the revision of the range that found it). */
  revision: bigint;
}

export interface MirrorOptions {
  /** Aborting closes the mirror. */
  signal?: AbortSignal;
  /** Deadline of each request (range, watch creation); default: the client's. */
  timeoutMs?: number;
  /** How often to probe the watch for liveness (default 1000 ms; 0: never, `stale` stays false). */
  heartbeatMs?: number;
  /** Stale once nothing was heard from the watch for this long (default 3 × heartbeatMs). */
  staleAfterMs?: number;
}

export interface MirrorHandlers {
  /** Changes applied at `revision` (after the initial load only; several per call for a batch). */
  change(changes: MirrorChange[], revision: bigint): void;
  stale?(stale: boolean): void;
  closed?(reason: unknown): void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

const isClientClosed = (e: unknown) => e instanceof EtcdError && e.code === 'client-closed';

export class Mirror {
  readonly entries = new Map<string, KeyValue>();
  /** The store revision the copy reflects (at least). */
  revision = 0n;
  #stale = false;
  /** Nothing heard for `staleAfterMs`: a re-sync range is due. */
  #silent = false;
  /** The watch is not caught up, or the mirror has not applied what caught it up. */
  #behind = false;
  /** The revision after the last event or progress the mirror took from its watch. */
  #consumed = 0n;
  /** Set when the watch reported `connected`: the copy is caught up once `#consumed` reaches it. */
  #caughtUpAt: bigint | undefined;
  #closed = false;
  #started: Promise<void> | undefined;
  #watch: Watch | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  #needsResync = false;
  /** Events at or before this revision are already in the copy (from a re-sync range). */
  #skipUpTo = 0n;
  readonly #ac = new AbortController();
  readonly #kv: Namespace;
  readonly #prefix: string | Uint8Array;
  readonly #opts: MirrorOptions;
  readonly #handlers: MirrorHandlers;
  readonly #onAbort = () => this.close(this.#opts.signal?.reason);

  constructor(kv: Namespace, prefix: string | Uint8Array, opts: MirrorOptions, handlers: MirrorHandlers) {
    this.#kv = kv;
    this.#prefix = prefix;
    this.#opts = opts;
    this.#handlers = handlers;
    if (opts.signal?.aborted) this.close(opts.signal.reason);
    else opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get stale(): boolean {
    return this.#stale;
  }
  get closed(): boolean {
    return this.#closed;
  }
  get loaded(): boolean {
    return this.#watch !== undefined;
  }

  /** Loads the copy and starts watching. Idempotent; a failed start can be retried. */
  start(): Promise<void> {
    if (!this.#started) {
      this.#started = this.#start().catch((e) => {
        this.#started = undefined;
        throw e;
      });
    }
    return this.#started;
  }

  async #start(): Promise<void> {
    if (this.#closed) throw new EtcdError('closed before it was loaded', { code: 'closed' });
    const r = await this.#kv.range(
      { prefix: this.#prefix },
      { signal: this.#ac.signal, timeoutMs: this.#opts.timeoutMs },
    );
    for (const kv of r.kvs) this.entries.set(kv.keyText(), kv);
    this.revision = r.header.revision;
    this.#skipUpTo = r.header.revision;
    let watch: Watch;
    try {
      watch = await this.#kv.watch(
        { prefix: this.#prefix },
        { startRevision: r.header.revision + 1n, signal: this.#ac.signal, timeoutMs: this.#opts.timeoutMs },
      );
    } catch (e) {
      this.entries.clear();
      throw e;
    }
    if (this.#closed) {
      watch.cancel();
      throw new EtcdError('closed before it was loaded', { code: 'closed' });
    }
    this.#attach(watch);
    this.#heard();
    const hb = this.#opts.heartbeatMs ?? 1000;
    if (hb > 0) {
      const staleAfter = this.#opts.staleAfterMs ?? 3 * hb;
      this.#timer = setInterval(() => this.#probe(staleAfter), hb);
      // Browsers' timers are numbers, with no unref.
      (this.#timer as { unref?: () => void }).unref?.();
    }
    void this.#run();
  }

  /** Follows `watch`'s state: stale from `disconnected` until caught up again. */
  #attach(watch: Watch): void {
    this.#watch = watch;
    this.#consumed = watch.nextRevision;
    this.#caughtUpAt = undefined;
    this.#behind = watch.state !== 'connected';
    watch.on('state', (c: WatchStateChange) => {
      if (this.#watch !== watch) return;
      if (c.state === 'connected') {
        this.#caughtUpAt = watch.nextRevision;
        this.#checkCaughtUp();
      } else if (c.state === 'disconnected' || c.state === 'resuming') {
        this.#caughtUpAt = undefined;
        this.#behind = true;
        this.#updateStale();
      }
    });
    this.#updateStale();
  }

  #consume(next: bigint): void {
    if (next > this.#consumed) this.#consumed = next;
    this.#checkCaughtUp();
  }

  #checkCaughtUp(): void {
    if (!this.#behind || this.#caughtUpAt === undefined || this.#consumed < this.#caughtUpAt) return;
    this.#behind = false;
    this.#updateStale();
  }

  #heard(): void {
    this.#lastHeard = performance.now();
  }

  #probe(staleAfter: number): void {
    if (this.#closed) return;
    if (!this.#silent && performance.now() - this.#lastHeard > staleAfter) this.#setSilent(true);
    this.#watch?.requestProgress();
  }

  #setSilent(silent: boolean): void {
    if (silent) this.#needsResync = true;
    this.#silent = silent;
    this.#updateStale();
  }

  #updateStale(): void {
    const stale = this.#silent || this.#behind;
    if (this.#stale === stale || this.#closed) return;
    this.#stale = stale;
    this.#handlers.stale?.(stale);
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const watch = this.#watch!;
      try {
        for await (const batch of watch.batches()) {
          this.#heard();
          if (this.#needsResync) await this.#resync();
          if (batch.events.length > 0) {
            this.#apply(batch.events);
            this.#consume(batch.events[batch.events.length - 1]!.revision + 1n);
          } else {
            if (!this.#needsResync && batch.header.revision > this.revision) {
              // A progress answer: nothing under the prefix changed up to there.
              this.revision = batch.header.revision;
            }
            this.#consume(batch.header.revision + 1n);
          }
        }
      } catch (e) {
        if (isClientClosed(e)) return this.close(e);
      }
      if (this.#closed) return;
      // The watch ended (compacted, canceled by the server): replace the copy and the watch.
      this.#setSilent(true);
      await this.#restart();
    }
  }

  /** A fresh range replacing the copy; on failure the copy stays stale and the next answer retries. */
  async #resync(): Promise<void> {
    try {
      const r = await this.#kv.range(
        { prefix: this.#prefix },
        { signal: this.#ac.signal, timeoutMs: this.#opts.timeoutMs },
      );
      if (this.#closed) return;
      this.#reconcile(r.kvs, r.header.revision);
      this.#needsResync = false;
      this.#heard();
      this.#setSilent(false);
    } catch {
      // Still unreachable: stay stale, try again on the next answer.
    }
  }

  async #restart(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        const r = await this.#kv.range(
          { prefix: this.#prefix },
          { signal: this.#ac.signal, timeoutMs: this.#opts.timeoutMs },
        );
        const watch = await this.#kv.watch(
          { prefix: this.#prefix },
          { startRevision: r.header.revision + 1n, signal: this.#ac.signal, timeoutMs: this.#opts.timeoutMs },
        );
        if (this.#closed) {
          watch.cancel();
          return;
        }
        this.#reconcile(r.kvs, r.header.revision);
        this.#attach(watch);
        this.#needsResync = false;
        this.#heard();
        this.#setSilent(false);
        return;
      } catch (e) {
        if (isClientClosed(e)) return this.close(e);
        // While nothing is watched, this timer is what keeps a held mirror's process alive.
        await sleep(Math.min(1000, 50 * 2 ** attempt), this.#ac.signal);
      }
    }
  }

  #reconcile(kvs: KeyValue[], revision: bigint): void {
    const changes: MirrorChange[] = [];
    const seen = new Set<string>();
    for (const kv of kvs) {
      const key = kv.keyText();
      seen.add(key);
      const prev = this.entries.get(key);
      if (!prev || prev.modRevision !== kv.modRevision)
        changes.push({ key, prev, next: kv, revision: kv.modRevision });
      this.entries.set(key, kv);
    }
    for (const [key, prev] of this.entries) {
      if (seen.has(key)) continue;
      this.entries.delete(key);
      changes.push({ key, prev, next: undefined, revision });
    }
    this.#skipUpTo = revision;
    if (revision > this.revision) this.revision = revision;
    if (changes.length > 0) this.#emit(changes, revision);
  }

  #apply(events: WatchEvent[]): void {
    const changes: MirrorChange[] = [];
    let rev = this.revision;
    for (const ev of events) {
      if (ev.revision <= this.#skipUpTo) continue;
      const key = ev.kv.keyText();
      const prev = this.entries.get(key);
      if (ev.type === 'put') {
        this.entries.set(key, ev.kv);
        changes.push({ key, prev, next: ev.kv, revision: ev.revision });
      } else {
        if (!prev) continue;
        this.entries.delete(key);
        changes.push({ key, prev, next: undefined, revision: ev.revision });
      }
      if (ev.revision > rev) rev = ev.revision;
    }
    this.revision = rev;
    if (changes.length > 0) this.#emit(changes, rev);
  }

  #emit(changes: MirrorChange[], revision: bigint): void {
    try {
      this.#handlers.change(changes, revision);
    } catch {
      // A throwing listener must not stop the mirror.
    }
  }

  /** Stops watching. Idempotent. */
  close(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#opts.signal?.removeEventListener('abort', this.#onAbort);
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#ac.abort(reason);
    this.#watch?.cancel();
    this.#handlers.closed?.(reason);
  }
}

/**
 * The part of a mirror that the recipes built on one (the cache, the registry's view) expose
 * alike: whether it is stale, the revision it reflects, and closing it.
 */
export abstract class MirrorView<E extends EventMap<E>> extends Emitter<E> {
  /** The mirror behind the view. */
  protected abstract readonly mirror: Mirror;

  /** True while the watch is not caught up: reads give the last values known. */
  get stale(): boolean {
    return this.mirror.stale;
  }

  /** The store revision the copy reflects (at least). */
  get revision(): bigint {
    return this.mirror.revision;
  }

  /** Whether it was closed (then it no longer changes). */
  get closed(): boolean {
    return this.mirror.closed;
  }

  /** Emits, keeping a throwing listener from breaking the view. */
  protected safeEmit<K extends keyof E>(name: K, ...args: E[K]): void {
    try {
      this.emit(name, ...args);
    } catch {
      // A throwing listener must not break the view.
    }
  }

  /** Stops watching. Idempotent. */
  close(): void {
    this.mirror.close();
  }

  /** `await using` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/**
 * An async iterable over values pushed after it was created, ended by `end()`. Each consumer
 * gets its own buffer; `return()` (leaving a `for await`) unsubscribes.
 */
export class Feed<T> {
  readonly #subs = new Set<{ items: T[]; wake: (() => void) | undefined }>();
  #ended = false;

  push(item: T): void {
    for (const s of this.#subs) {
      s.items.push(item);
      s.wake?.();
    }
  }

  end(): void {
    this.#ended = true;
    for (const s of this.#subs) s.wake?.();
  }

  iterate(signal?: AbortSignal): AsyncIterableIterator<T> {
    const sub = { items: [] as T[], wake: undefined as (() => void) | undefined };
    const subs = this.#subs;
    if (!this.#ended) subs.add(sub);
    const isEnded = () => this.#ended || !subs.has(sub) || signal?.aborted === true;
    const onAbort = () => sub.wake?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): IteratorResult<T> => {
      subs.delete(sub);
      signal?.removeEventListener('abort', onAbort);
      return { value: undefined, done: true };
    };
    const it: AsyncIterableIterator<T> = {
      async next(): Promise<IteratorResult<T>> {
        for (;;) {
          const item = sub.items.shift();
          if (item !== undefined) return { value: item, done: false };
          if (isEnded()) return finish();
          await new Promise<void>((resolve) => {
            sub.wake = resolve;
          });
          sub.wake = undefined;
        }
      },
      async return(): Promise<IteratorResult<T>> {
        sub.items.length = 0;
        return finish();
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }
}
