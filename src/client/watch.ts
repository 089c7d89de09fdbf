/**
 * Watches. All watches of a client share one Watch stream (on the active endpoint). Each watch
 * remembers the next revision it has not seen; when the stream breaks (member killed, no
 * leader, failover) the hub reopens it, on another endpoint if need be, and recreates every
 * watch from that revision, so each revision is delivered once and in order.
 *
 * Creates are sent one at a time: etcd answers creates in order, and a created response is
 * matched to the oldest create still unanswered.
 *
 * Each watch also reports where it stands (`Watch.state`): a broken stream makes it
 * `disconnected`; once it is created again on a new stream it is `resuming` until it has
 * delivered everything up to the revision the server stood at when it re-created it, then
 * `connected`.
 */
import { ETCD_ERRORS } from '../errors/index.js';
import {
  type WatchCreateRequest,
  WatchCreateRequest_FilterType,
  type WatchRequest,
  type WatchResponse,
} from '../gen/etcdserverpb/rpc.js';
import { Event_EventType, type Event as WireEvent } from '../gen/mvccpb/kv.js';
import { WatchDefinition } from '../gen/services.js';
import { AsyncQueue } from './async-queue.js';
import { abortErrorOf, type CallOptions, CallScope } from './call-options.js';
import type { Connections } from './connections.js';
import { type Diagnostics, keyPreview } from './diagnostics.js';
import {
  ClientClosedError,
  CompactedError,
  cancelMessage,
  type EtcdError,
  fromCancelReason,
  WatchCanceledError,
} from './errors.js';
import type { KeyRange, Keyspace } from './keyspace.js';
import { header, type KeyValue, keyValue, type ResponseHeader } from './kv.js';
import { type LoopStream, StreamLoop } from './stream-loop.js';
import { CAUGHT_UP, PROGRESS_UNORDERED } from './transport.js';

/**
 * `signal` bounds the creation and then the whole watch: aborting later cancels it on the
 * server and the iteration throws an AbortError. `timeoutMs` bounds the creation only.
 */
export interface WatchOptions extends CallOptions {
  /** First revision to deliver; default: changes after the watch is created. */
  startRevision?: bigint | number;
  /** Deliver each event's previous key-value. */
  prevKv?: boolean;
  /** Leave out puts or deletes. */
  filters?: {
    /** Leave out puts: deliver only deletes. */
    noPut?: boolean;
    /** Leave out deletes: deliver only puts. */
    noDelete?: boolean;
  };
  /** Ask the server for periodic progress notifications while idle. */
  progressNotify?: boolean;
  /** Let the server split huge revisions across responses (reassembled here). */
  fragment?: boolean;
}

/** One change to a key, as a watch delivers it. */
export interface WatchEvent {
  /** A put (created or modified) or a delete (deleted, or its lease ended). */
  type: 'put' | 'delete';
  /** The key, without the prefix of the namespace it was watched through. */
  key: Buffer;
  /** The key-value after the change (for a delete: the key, an empty value, and the delete's revision). */
  kv: KeyValue;
  /** The key-value before the change, when `prevKv` was asked for and the key existed. */
  prevKv: KeyValue | undefined;
  /** The revision of the change (the kv's mod revision). */
  revision: bigint;
}

/** One server response: the events of one or more whole revisions, or a progress notification. */
export interface WatchBatch {
  /** The member that sent the response, and the store revision it had reached. */
  header: ResponseHeader;
  /** The changes, in revision order (none in a progress notification). */
  events: WatchEvent[];
  /**
   * No events: the server reports that everything up to `header.revision` has been delivered.
   * (An answer to `requestProgress()` from etcd before 3.4.25 / 3.5.8 may arrive ahead of
   * events it covers; those events are still delivered after it.)
   */
  progress: boolean;
}

/**
 * Where a watch stands, named as etcd3 (npm) names its watcher's events where it has one:
 * - `connecting`: its first create is on its way (etcd3 `connecting`);
 * - `connected`: created, and caught up with the revision the server stood at when it created
 *   it (etcd3 `connected`; the "caught up" state);
 * - `disconnected`: its stream broke; it is reopened, on another endpoint if need be (etcd3
 *   `disconnected`);
 * - `resuming`: created again (or created with a `startRevision` in the past) and replaying
 *   from `fromRevision` what it has not delivered yet (no etcd3 counterpart: etcd3 goes from
 *   `connecting` straight to `connected`);
 * - `closed`: canceled, failed, or its client closed.
 */
export type WatchState = 'connecting' | 'connected' | 'disconnected' | 'resuming' | 'closed';

/** What a watch's `state` event carries. */
export interface WatchStateChange {
  /** The new state. */
  state: WatchState;
  /** The state before. */
  previous: WatchState;
  /** The first revision the watch has not delivered yet: where it resumes from. */
  fromRevision: bigint;
  /**
   * For `resuming`: the store revision the server stood at when it re-created the watch; the
   * watch is `connected` once it has delivered everything up to it.
   */
  toRevision?: bigint;
}

/** The events of a `Watch`, with their arguments. */
export interface WatchEvents {
  /** Any state change. */
  state: [change: WatchStateChange];
  /** Caught up (etcd3's event of that name). */
  connected: [change: WatchStateChange];
  /** The stream broke (etcd3's event of that name). */
  disconnected: [change: WatchStateChange];
  /** Created again on a new stream, replaying what it missed. */
  resuming: [change: WatchStateChange];
}

type State = 'creating' | 'active' | 'done';

class Watcher {
  readonly queue = new AsyncQueue<WatchBatch>();
  state: State = 'creating';
  /** Server-side id on the current stream, once created there. */
  id: bigint | undefined;
  /** The next revision not yet delivered; 0n until the first creation says where "now" is. */
  nextRev: bigint;
  fragments: WireEvent[] = [];
  /** Whether its last create was refused for a stale token (it is tried once more). */
  reauthenticated = false;
  created!: { resolve: () => void; reject: (e: unknown) => void };
  readonly createdPromise: Promise<void>;
  /** The state users see (see `WatchState`), and where it reports changes. */
  public: WatchState = 'connecting';
  /** While `resuming`: the server's revision at the re-creation, to deliver up to. */
  catchUpTo = 0n;
  /** State listeners by event name (a Set: adding one twice keeps one). */
  readonly listeners = new Map<keyof WatchEvents, Set<(change: WatchStateChange) => void>>();

  constructor(
    readonly ks: Keyspace,
    readonly request: WatchCreateRequest,
    readonly diagnostics: Diagnostics,
  ) {
    this.nextRev = request.startRevision;
    this.createdPromise = new Promise((resolve, reject) => {
      this.created = { resolve, reject };
    });
    // Creation failures are reported through `watch()`; don't let an unobserved one crash.
    this.createdPromise.catch(() => {});
  }

  createRequest(): WatchRequest {
    return { createRequest: { ...this.request, startRevision: this.nextRev } };
  }

  /**
   * `ordered`: the response is this watch's own and comes after every earlier event of it. A
   * broadcast answer to `requestProgress()` (watch id -1) is not: etcd before 3.4.25 / 3.5.8
   * sends it on a side channel with the store's current revision, ahead of events still queued
   * for the watch (etcd-io/etcd#15220). Advancing `nextRev` on it made those events look
   * already delivered, and they were dropped.
   */
  deliver(res: WatchResponse, events: WireEvent[], ordered = true): void {
    const h = header(res.header);
    if (events.length === 0) {
      // Everything up to the header revision has been sent: resuming may start after it.
      if (ordered && h.revision >= this.nextRev) this.nextRev = h.revision + 1n;
      this.queue.push({ header: h, events: [], progress: true });
      return;
    }
    const out: WatchEvent[] = [];
    for (const e of events) {
      const kv = e.kv;
      if (!kv || kv.modRevision < this.nextRev) continue; // already delivered before a resume
      const k = keyValue(this.ks, kv);
      out.push({
        type: e.type === Event_EventType.DELETE ? 'delete' : 'put',
        key: k.key,
        kv: k,
        prevKv: e.prevKv ? keyValue(this.ks, e.prevKv) : undefined,
        revision: kv.modRevision,
      });
    }
    if (out.length === 0) return;
    this.nextRev = out[out.length - 1]!.revision + 1n;
    this.queue.push({ header: h, events: out, progress: false });
  }

  setState(state: WatchState, toRevision?: bigint): void {
    const previous = this.public;
    if (previous === state || previous === 'closed') return;
    this.public = state;
    const change: WatchStateChange = { state, previous, fromRevision: this.nextRev };
    if (toRevision !== undefined) change.toRevision = toRevision;
    this.#publish(state);
    for (const name of ['state', state] as const) {
      for (const fn of [...(this.listeners.get(name as keyof WatchEvents) ?? [])]) {
        try {
          fn(change);
        } catch {
          // A throwing listener must not break the watch stream.
        }
      }
    }
  }

  /** `concord-kv:watch:state` for every change, and `concord-kv:watch:resumed` when resuming. */
  #publish(state: WatchState): void {
    const message = () => ({ key: keyPreview(this.request.key) ?? '', fromRevision: this.nextRev, state });
    this.diagnostics.publish('watchState', message);
    if (state === 'resuming') this.diagnostics.publish('watchResumed', message);
  }

  /** Created (again) on a stream whose header says the server stood at `serverRev`. */
  onCreated(serverRev: bigint): void {
    this.catchUpTo = serverRev;
    if (this.public !== 'connecting' || this.nextRev <= serverRev) this.setState('resuming', serverRev);
    this.checkCaughtUp();
  }

  /** `connected` once everything up to the re-creation's revision has been delivered. */
  checkCaughtUp(): void {
    if (this.public === 'resuming' && this.nextRev > this.catchUpTo) this.setState('connected');
    else if (this.public === 'connecting' && this.state === 'active') this.setState('connected');
  }

  /** Runs once when the watch ends (releases the listener on the caller's signal). */
  onFinish: (() => void) | undefined;

  finish(err?: unknown): void {
    this.state = 'done';
    this.setState('closed');
    this.listeners.clear();
    this.onFinish?.();
    this.onFinish = undefined;
    if (err) {
      this.created.reject(err);
      this.queue.fail(err);
    } else {
      this.created.reject(new WatchCanceledError('watch canceled'));
      this.queue.end();
    }
  }
}

interface Stream extends LoopStream {
  requests: AsyncQueue<WatchRequest>;
  /** Watchers whose create was sent or is waiting to be sent, oldest first. */
  pending: Watcher[];
  byId: Map<bigint, Watcher>;
  /**
   * Progress requests not yet answered: the user's (their answers are delivered as progress
   * batches) and the hub's own, sent to learn that a resuming watch caught up (their answers
   * are not: a user would see batches nobody asked for). Answers come in order; the user's are
   * served first, and a server may answer several requests at once.
   */
  progressAsked: { user: number; hub: number };
}

export class WatchHub {
  readonly #conns: Connections;
  readonly #watchers = new Set<Watcher>();
  /** The watch stream, open while a watch is. */
  readonly #loop: StreamLoop<Stream, WatchResponse>;

  constructor(conns: Connections) {
    this.#conns = conns;
    this.#loop = new StreamLoop(conns, {
      hasWork: () => this.#watchers.size > 0,
      create: () => ({
        requests: new AsyncQueue(),
        abort: new AbortController(),
        pending: [],
        byId: new Map(),
        progressAsked: { user: 0, hub: 0 },
      }),
      started: (s) => {
        for (const w of this.#watchers) {
          w.id = undefined;
          w.fragments = [];
          this.#enqueueCreate(s, w);
        }
      },
      call: (i, s, metadata) =>
        this.#tracked(
          this.#conns.client(WatchDefinition, i).watch(s.requests, { signal: s.abort.signal, metadata }),
        ),
      onResponse: (s, res) => this.#onResponse(s, res),
    });
    conns.closeSignal.addEventListener('abort', () => this.#closeAll(), { once: true });
  }

  /** Number of open watches (for tests and metrics). */
  get size(): number {
    return this.#watchers.size;
  }

  async watch(ks: Keyspace, range: KeyRange, opts: WatchOptions = {}): Promise<Watch> {
    const { key, rangeEnd } = ks.range(range);
    const filters: WatchCreateRequest_FilterType[] = [];
    if (opts.filters?.noPut) filters.push(WatchCreateRequest_FilterType.NOPUT);
    if (opts.filters?.noDelete) filters.push(WatchCreateRequest_FilterType.NODELETE);
    const w = new Watcher(
      ks,
      {
        key,
        rangeEnd,
        startRevision: BigInt(opts.startRevision ?? 0),
        progressNotify: opts.progressNotify ?? false,
        filters,
        prevKv: opts.prevKv ?? false,
        watchId: 0n,
        fragment: opts.fragment ?? false,
      },
      this.#conns.diagnostics,
    );
    if (this.#conns.closed) throw new ClientClosedError('client is closed');
    // Built before the watcher is registered: an already-aborted signal must not create it.
    const scope = new CallScope(opts, this.#conns.settings.timeoutMs, this.#conns.closeSignal);
    if (scope.signal.aborted) {
      scope.dispose();
      throw scope.abortError();
    }
    this.#watchers.add(w);
    if (this.#loop.current) this.#enqueueCreate(this.#loop.current, w);
    this.#loop.ensure();
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(scope.abortError());
        scope.signal.addEventListener('abort', onAbort, { once: true });
        w.createdPromise
          .then(resolve, reject)
          .finally(() => scope.signal.removeEventListener('abort', onAbort));
      });
    } catch (e) {
      this.cancel(w);
      throw e;
    } finally {
      scope.dispose();
    }
    // The caller's signal also ends the open watch: iteration throws an AbortError.
    const signal = opts.signal;
    if (signal) {
      const onAbort = () => this.cancel(w, abortErrorOf(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      w.onFinish = () => signal.removeEventListener('abort', onAbort);
    }
    return new Watch(this, w);
  }

  /** The stream's responses; when it ends, every watch still open is `disconnected`. */
  async *#tracked(responses: AsyncIterable<WatchResponse>): AsyncGenerator<WatchResponse> {
    try {
      yield* responses;
    } finally {
      for (const w of this.#watchers) if (w.state === 'active') w.setState('disconnected');
    }
  }

  /** Asks the server for a progress notification on every watch of the stream. */
  requestProgress(): void {
    const s = this.#loop.current;
    if (!s) return;
    s.progressAsked.user++;
    s.requests.push({ progressRequest: {} });
  }

  /** Cancels on the server; iteration ends quietly, or throws `err` when given. */
  cancel(w: Watcher, err?: unknown): void {
    if (w.state === 'done') return;
    const wasActive = w.state === 'active';
    w.finish(err);
    this.#watchers.delete(w);
    const s = this.#loop.current;
    if (s && wasActive && w.id !== undefined) {
      s.byId.delete(w.id);
      s.requests.push({ cancelRequest: { watchId: w.id } });
    }
    // Nothing left to watch: close the stream so an idle client lets the process exit.
    if (this.#watchers.size === 0 && s) s.abort.abort();
  }

  #closeAll(): void {
    for (const w of this.#watchers) w.finish(new ClientClosedError('client is closed'));
    this.#watchers.clear();
    this.#loop.current?.abort.abort();
  }

  #enqueueCreate(s: Stream, w: Watcher): void {
    s.pending.push(w);
    if (s.pending.length === 1) s.requests.push(w.createRequest());
  }

  #onResponse(s: Stream, res: WatchResponse): void {
    if (res.created) {
      const w = s.pending.shift();
      const next = s.pending[0];
      if (next) s.requests.push(next.createRequest());
      if (!w) return;
      if (res.canceled || res.watchId < 0n) {
        // Refused for a stale token: once per watcher, the stream starts again and
        // authenticates first (every watcher is created again from where it stood).
        if (!w.reauthenticated && this.#conns.refusedToken(cancelMessage(res.cancelReason))) {
          w.reauthenticated = true;
          s.abort.abort();
          return;
        }
        this.#watchers.delete(w);
        w.finish(this.#cancelError(res));
        return;
      }
      w.id = res.watchId;
      w.reauthenticated = false;
      s.byId.set(w.id, w);
      if (w.state === 'done') {
        // Canceled while its create was in flight.
        s.requests.push({ cancelRequest: { watchId: w.id } });
        return;
      }
      const serverRev = res.header?.revision ?? 0n;
      if (w.nextRev === 0n) w.nextRev = serverRev + 1n;
      w.state = 'active';
      w.onCreated(serverRev);
      // Behind: a progress answer says when nothing more is due (Concord and etcd >= 3.4.25
      // answer once every watch of the stream has caught up).
      if (w.public === 'resuming') {
        s.progressAsked.hub++;
        s.requests.push({ progressRequest: {} });
      }
      w.created.resolve();
      return;
    }
    const w = s.byId.get(res.watchId);
    if (!w) {
      // A progress response to `requestProgress()` (watch id -1) is for every watch of the stream.
      if (res.watchId === -1n && res.events.length === 0 && !res.canceled) {
        const asked = s.progressAsked;
        const forUser = asked.user > 0 || asked.hub === 0;
        const unordered = (res as { [PROGRESS_UNORDERED]?: boolean })[PROGRESS_UNORDERED] === true;
        if (asked.user > 0) asked.user--;
        else if (asked.hub > 0) asked.hub--;
        for (const x of s.byId.values()) {
          if (x.state !== 'active') continue;
          if (forUser) x.deliver(res, [], false);
          if (unordered) continue;
          if (x.public === 'resuming' && header(res.header).revision >= x.catchUpTo) x.setState('connected');
        }
      }
      return;
    }
    if (res.canceled || res.compactRevision > 0n) {
      s.byId.delete(res.watchId);
      if (w.state === 'done') return;
      this.#watchers.delete(w);
      w.finish(this.#cancelError(res));
      if (this.#watchers.size === 0) s.abort.abort();
      return;
    }
    if (w.state !== 'active') return;
    if ((res as { [CAUGHT_UP]?: boolean })[CAUGHT_UP]) {
      // Not delivered and no resume revision moved: on etcd before 3.4.25 it may still
      // overtake the events it covers (etcd-io/etcd#15220).
      if (w.public === 'resuming' && header(res.header).revision >= w.catchUpTo) w.setState('connected');
      return;
    }
    if (res.fragment) {
      w.fragments.push(...res.events);
      return;
    }
    let events = res.events;
    if (w.fragments.length > 0) {
      events = w.fragments.concat(events);
      w.fragments = [];
    }
    w.deliver(res, events);
    w.checkCaughtUp();
  }

  #cancelError(res: WatchResponse): EtcdError {
    if (res.compactRevision > 0n) {
      return new CompactedError(ETCD_ERRORS.compacted.message, {
        compactRevision: res.compactRevision,
      });
    }
    // A refusal etcd names (permission denied: the watcher's user lost read access) comes as
    // its own error class; anything else is a plain cancel.
    return (
      fromCancelReason(res.cancelReason) ??
      new WatchCanceledError(res.cancelReason || ETCD_ERRORS['watch-canceled'].message)
    );
  }
}

/**
 * An open watch: iterate it for events (`for await (const ev of watch)`), or `batches()` for
 * whole responses including progress notifications. Leaving the loop cancels it on the server.
 *
 * It resumes by itself after a broken stream or a failover, from the first revision it has not
 * delivered, so no event is lost or repeated. Iteration throws when the server cancels the watch
 * (`CompactedError` if its start revision was compacted away), when its signal aborts, or when the
 * client closes.
 *
 * @example
 * ```ts
 * await using watch = await client.watch({ prefix: 'config/' }, { prevKv: true });
 * for await (const ev of watch) {
 *   console.log(ev.type, ev.key.toString(), ev.prevKv?.text(), '->', ev.kv.text());
 * }
 * ```
 */
export class Watch implements AsyncIterable<WatchEvent> {
  readonly #hub: WatchHub;
  readonly #w: Watcher;

  /** @internal */
  constructor(hub: WatchHub, w: Watcher) {
    this.#hub = hub;
    this.#w = w;
  }

  /** The server-side watch id on the current stream (changes after a reconnect). */
  get id(): bigint | undefined {
    return this.#w.id;
  }

  /** The next revision this watch will deliver. */
  get nextRevision(): bigint {
    return this.#w.nextRev;
  }

  /** Whether the watch has ended (canceled, failed, or its client closed). */
  get closed(): boolean {
    return this.#w.state === 'done';
  }

  /** Where the watch stands: `connected` when caught up (see `WatchState`). */
  get state(): WatchState {
    return this.#w.public;
  }

  /**
   * Listens to state changes: `state` for every one, or `connected` / `disconnected` /
   * `resuming` (etcd3's event names where it has them). Listeners run synchronously as the
   * stream's responses are read, so a `connected` may come before the `for await` loop has
   * taken the events that caught it up. They are dropped when the watch ends.
   */
  on(event: keyof WatchEvents, listener: (change: WatchStateChange) => void): this {
    if (this.#w.state === 'done') return this;
    const set = this.#w.listeners.get(event) ?? new Set();
    set.add(listener);
    this.#w.listeners.set(event, set);
    return this;
  }

  /** Removes a listener added with `on()`. */
  off(event: keyof WatchEvents, listener: (change: WatchStateChange) => void): this {
    this.#w.listeners.get(event)?.delete(listener);
    return this;
  }

  /** Responses as they arrive: event batches and progress notifications. */
  async *batches(): AsyncGenerator<WatchBatch, void, undefined> {
    try {
      for (;;) {
        const r = await this.#w.queue.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      this.cancel();
    }
  }

  /** The events one by one; leaving the loop cancels the watch. */
  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent, void, undefined> {
    for await (const b of this.batches()) {
      for (const e of b.events) yield e;
    }
  }

  /** Asks the server to report progress (a `progress: true` batch) on this client's watches. */
  requestProgress(): void {
    this.#hub.requestProgress();
  }

  /** Cancels the watch on the server; a loop over it ends quietly. Idempotent. */
  cancel(): void {
    this.#hub.cancel(this.#w);
  }

  /** `await using watch = await client.watch(...)` cancels it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.cancel();
  }
}
