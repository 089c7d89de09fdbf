/**
 * The watch hub (etcd's watchableStore). A watcher is *synced* once it has seen every revision
 * up to the store's: it gets each write's events as the write is applied, one response per
 * revision. A watcher that starts in the past, or whose sink refused a response (a slow
 * stream), is *unsynced*: sync() replays history from the log to it in batches of at most
 * WATCH_BATCH_MAX_REVS revisions, then moves it to the synced set. A watcher whose next
 * revision has been compacted is cancelled with the compact revision.
 *
 * Events of one revision always travel in one response, unless the watcher asked for
 * fragments and the response is larger than the limit. Watch IDs belong to the caller (etcd
 * numbers them per stream); the hub identifies a watcher by its object.
 *
 * Fan-out is the hot path: watchers that receive the same events at a revision share one
 * EventBatch (built and encoded once) and one header, so each watcher costs a small response
 * object, not a copy of its events. Watchers are found by key (single keys) or by distinct
 * range, never by a scan of every watcher.
 */
import type { ResponseHeader, WatchCreateRequest, WatchResponse } from '../../gen/etcdserverpb/rpc.js';
import { WatchCreateRequest_FilterType as Filter } from '../../gen/etcdserverpb/rpc.js';
import { type Event, Event_EventType } from '../../gen/mvccpb/kv.js';
import { header, str, toKeyValue, tombstoneKeyValue } from '../convert.js';
import type { Rev } from './key-index.js';
import { type Change, type KvStore, rangeEndOf } from './kv-store.js';
import { batchResponse, EventBatch, watchResponse } from './watch-batch.js';

export { watchResponse };

/** Most distinct revisions sent to a catching-up watcher in one response (etcd's watchBatchMaxRevs). */
export const WATCH_BATCH_MAX_REVS = 1000;
/** Size above which a watcher that asked for fragments gets its response in pieces (etcd's default max request bytes). */
export const WATCH_FRAGMENT_BYTES = 1.5 * 1024 * 1024;
/** Estimated protobuf overhead of one event, for fragment sizing. */
const EVENT_OVERHEAD_BYTES = 48;

/** Where a watcher's responses go. Usually one per client stream, shared by its watchers. */
export interface WatchSink {
  /**
   * Takes a response. Returning false means "not now" (the stream is backed up): the response
   * is dropped, and the watcher catches up from history later. `from` is the watcher whose
   * events `resp` carries (absent for responses not tied to one watcher's events).
   */
  send(resp: WatchResponse, from?: Watcher): boolean;
}

export class Watcher {
  /** The next revision this watcher must see. */
  minRev: number;
  synced = false;
  /** Whether an event went out since the last progress notification. */
  sentSinceProgress = false;
  /**
   * The sink's own mark for this watcher (the gRPC stream: where the watcher's last response
   * waits in its queue, to add the next revision's events to while it has not gone out).
   */
  sinkMark = -1;
  constructor(
    readonly id: bigint,
    readonly key: string,
    /** undefined = the single key; KEY_SPACE_END = to the end. */
    readonly end: string | undefined,
    startRev: number,
    readonly prevKv: boolean,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    readonly progressNotify: boolean,
    readonly fragment: boolean,
    readonly sink: WatchSink,
  ) {
    this.minRev = startRev;
  }

  matches(key: string): boolean {
    return this.end === undefined ? key === this.key : key >= this.key && key < this.end;
  }
}

export interface WatchHubOptions {
  batchMaxRevs?: number;
  fragmentBytes?: number;
}

export class WatchHub {
  readonly #store: KvStore;
  readonly #batchMaxRevs: number;
  readonly #fragmentBytes: number;
  /** Synced single-key watchers by key: the watcher itself while it is alone (saves a Set per watched key). */
  readonly #byKey = new Map<string, Watcher | Set<Watcher>>();
  /**
   * Synced range watchers by start key, then end: each distinct range is matched once per event
   * however many watchers share it (a scan per distinct range; an interval tree would pay off
   * with many distinct ones).
   */
  readonly #ranges = new Map<string, Map<string, Set<Watcher>>>();
  #rangeCount = 0;
  readonly #unsynced = new Set<Watcher>();

  constructor(store: KvStore, opts: WatchHubOptions = {}) {
    this.#store = store;
    this.#batchMaxRevs = opts.batchMaxRevs ?? WATCH_BATCH_MAX_REVS;
    this.#fragmentBytes = opts.fragmentBytes ?? WATCH_FRAGMENT_BYTES;
  }

  get size(): number {
    let n = this.#rangeCount + this.#unsynced.size;
    for (const s of this.#byKey.values()) n += s instanceof Set ? s.size : 1;
    return n;
  }

  get unsyncedCount(): number {
    return this.#unsynced.size;
  }

  /**
   * Registers a watcher. Start revision 0 = from the next write. The caller sends the
   * `created` response; history (if the start is in the past) comes with sync().
   */
  watch(id: bigint, req: WatchCreateRequest, sink: WatchSink): Watcher {
    const store = this.#store;
    // A negative start is a revision before etcd's compact revision (-1 until the first
    // compaction): the watcher is canceled as compacted at its first sync; -1 on a store never
    // compacted is not before it, and watches from the next write, as 0 does.
    const start =
      req.startRevision > 0n || (req.startRevision < 0n && req.startRevision < BigInt(compactMainRev(store)))
        ? Number(req.startRevision)
        : store.currentRev + 1;
    const filters = req.filters;
    const w = new Watcher(
      id,
      str(req.key),
      rangeEndOf(str(req.rangeEnd)),
      start,
      req.prevKv,
      filters.includes(Filter.NOPUT),
      filters.includes(Filter.NODELETE),
      req.progressNotify,
      req.fragment,
      sink,
    );
    if (start > store.currentRev) this.#addSynced(w);
    else this.#unsynced.add(w);
    return w;
  }

  cancel(w: Watcher): void {
    if (w.synced) this.#removeSynced(w);
    else this.#unsynced.delete(w);
  }

  #addSynced(w: Watcher): void {
    w.synced = true;
    if (w.end === undefined) {
      const cur = this.#byKey.get(w.key);
      if (cur === undefined) this.#byKey.set(w.key, w);
      else if (cur instanceof Set) cur.add(w);
      else this.#byKey.set(w.key, new Set([cur, w]));
    } else {
      memo(
        memo(this.#ranges, w.key, () => new Map()),
        w.end,
        () => new Set<Watcher>(),
      ).add(w);
      this.#rangeCount++;
    }
  }

  #removeSynced(w: Watcher): void {
    w.synced = false;
    if (w.end === undefined) {
      const cur = this.#byKey.get(w.key);
      if (cur === w) this.#byKey.delete(w.key);
      else if (cur instanceof Set) {
        cur.delete(w);
        if (cur.size === 1) this.#byKey.set(w.key, cur.values().next().value!);
      }
    } else {
      const ends = this.#ranges.get(w.key);
      const set = ends?.get(w.end);
      if (set?.delete(w)) this.#rangeCount--;
      if (set?.size === 0) ends!.delete(w.end);
      if (ends?.size === 0) this.#ranges.delete(w.key);
    }
  }

  /**
   * The store jumped to a new state (a snapshot from the leader was installed): every synced
   * watcher replays from the first revision it has not seen, out of the new history.
   */
  unsyncAll(fromRev: number): void {
    for (const w of [...this.#rangeWatchers()]) this.#toUnsynced(w, fromRev);
    for (const hit of [...this.#byKey.values()])
      if (hit instanceof Set) for (const w of [...hit]) this.#toUnsynced(w, fromRev);
      else this.#toUnsynced(hit, fromRev);
  }

  #toUnsynced(w: Watcher, fromRev: number): void {
    this.#removeSynced(w);
    w.minRev = Math.max(w.minRev, fromRev);
    this.#unsynced.add(w);
  }

  *#rangeWatchers(): Generator<Watcher> {
    for (const ends of this.#ranges.values()) for (const set of ends.values()) yield* set;
  }

  /** Each distinct synced range holding `key`, with its watchers. */
  *#rangesHolding(key: string): Generator<Set<Watcher>> {
    for (const [start, ends] of this.#ranges) {
      if (key < start) continue;
      for (const [end, set] of ends) if (key < end) yield set;
    }
  }

  /** Delivers one applied write (all its changes share one main revision) to synced watchers. */
  notify(changes: readonly Change[]): void {
    if (changes.length === 0) return;
    const rev = changes[0]!.rev.main;
    // One header for every response of this revision: they all say the same.
    const hdr = header(rev);
    const send = (w: Watcher, batch: EventBatch) => this.#settle(w, rev, this.#deliver(w, batch, hdr));
    if (changes.length === 1) {
      // The fan-out case: one event, one batch per prev_kv choice, shared by every watcher.
      const c = changes[0]!;
      const hit = this.#byKey.get(c.rev.key);
      if (hit === undefined && this.#ranges.size === 0) return;
      const ev = new EventPair(c.rev, this.#store.eventPrevOf(c));
      const visit = (w: Watcher) => {
        if (wants(w, rev, c)) send(w, w.prevKv ? ev.withPrevBatch() : ev.plainBatch());
      };
      // A refused watcher leaves its set while we iterate it: Set and Map iteration allow that.
      if (hit instanceof Set) for (const w of hit) visit(w);
      else if (hit) visit(hit);
      for (const set of this.#rangesHolding(c.rev.key)) for (const w of set) visit(w);
      return;
    }
    // Several events: each watcher gets the ones it matches; watchers matching the same ones
    // (with the same prev_kv choice) share a batch.
    let picked: Map<Watcher, number[]> | undefined;
    const pairs: EventPair[] = [];
    const add = (w: Watcher, i: number) => {
      if (!wants(w, rev, changes[i]!)) return;
      picked ??= new Map();
      const idx = picked.get(w);
      if (idx) idx.push(i);
      else picked.set(w, [i]);
    };
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      const hit = this.#byKey.get(c.rev.key);
      if (hit === undefined && this.#ranges.size === 0) continue;
      pairs[i] = new EventPair(c.rev, this.#store.eventPrevOf(c));
      if (hit instanceof Set) for (const w of hit) add(w, i);
      else if (hit) add(hit, i);
      for (const set of this.#rangesHolding(c.rev.key)) for (const w of set) add(w, i);
    }
    if (!picked) return;
    const shared = new Map<string, EventBatch>();
    for (const [w, idx] of picked) {
      const sig = `${w.prevKv ? 'p' : ''}${idx.join(',')}`;
      send(
        w,
        memo(
          shared,
          sig,
          () => new EventBatch(idx.map((i) => (w.prevKv ? pairs[i]!.withPrev() : pairs[i]!.plain()))),
        ),
      );
    }
  }

  /** After a synced watcher was offered revision `rev`: on to the next, or (refused) replay it later. */
  #settle(w: Watcher, rev: number, delivered: boolean): void {
    if (delivered) w.minRev = rev + 1;
    else {
      // The stream is backed up: replay from this revision later.
      this.#removeSynced(w);
      w.minRev = rev;
      this.#unsynced.add(w);
    }
  }

  /**
   * One round of catching up: each unsynced watcher gets at most one batch of history, or is
   * cancelled if its next revision was compacted. Returns how many watchers are still unsynced.
   */
  sync(): number {
    const store = this.#store;
    const hdr = header(store.currentRev);
    // Watchers catching up from the same revision with the same range and options get the same
    // events: built once per round (after a wide fan-out was refused, that is all of them).
    const shared = new Map<string, EventBatch>();
    for (const w of [...this.#unsynced]) {
      if (w.minRev < compactMainRev(store)) {
        this.#unsynced.delete(w);
        // etcd's header carries revision 0 here (the cancel is not tied to a store revision).
        w.sink.send({
          header: header(0),
          watchId: w.id,
          created: false,
          // etcd's sendLoop: canceled is compact_revision != 0 (after a compaction at 0, it is not).
          canceled: compactMainRev(store) !== 0,
          compactRevision: BigInt(compactMainRev(store)),
          cancelReason: '',
          fragment: false,
          events: [],
        });
        continue;
      }
      const upTo = Math.min(store.currentRev, w.minRev + this.#batchMaxRevs - 1);
      const sig = `${w.minRev}\0${w.key}\0${w.end}\0${+w.prevKv}${+w.noPut}${+w.noDelete}`;
      const batch = memo(shared, sig, () => this.#history(w, upTo));
      if (batch.events.length > 0 && !this.#deliver(w, batch, hdr)) continue;
      w.minRev = upTo + 1;
      if (w.minRev > store.currentRev) {
        this.#unsynced.delete(w);
        this.#addSynced(w);
      }
    }
    return this.#unsynced.size;
  }

  /** Whether every given watcher is synced (a progress request is answered only then). */
  allSynced(watchers: Iterable<Watcher>): boolean {
    for (const w of watchers) if (!w.synced) return false;
    return true;
  }

  /**
   * Periodic progress notification: an empty response carrying the current revision to each
   * synced watcher that asked for them and got no events since the last round.
   */
  progressNotify(): void {
    const rev = this.#store.currentRev;
    const visit = (w: Watcher) => {
      if (!w.progressNotify) return;
      if (w.sentSinceProgress) {
        w.sentSinceProgress = false;
        return;
      }
      w.sink.send(watchResponse(w.id, header(rev), []));
    };
    for (const hit of this.#byKey.values()) {
      if (hit instanceof Set) for (const w of hit) visit(w);
      else visit(hit);
    }
    for (const w of this.#rangeWatchers()) visit(w);
  }

  /** The events of revisions [w.minRev, upTo] that `w` wants, out of the log. */
  #history(w: Watcher, upTo: number): EventBatch {
    const store = this.#store;
    const log = store.log;
    const events: Event[] = [];
    for (let i = store.logIndexOf(w.minRev); i < log.length; i++) {
      const r = log[i]!;
      if (r.main > upTo) break;
      if (!w.matches(r.key) || (r.tomb ? w.noDelete : w.noPut)) continue;
      const ev = new EventPair(r, w.prevKv ? store.prevOf(r) : undefined);
      events.push(w.prevKv ? ev.withPrev() : ev.plain());
    }
    return new EventBatch(events);
  }

  #deliver(w: Watcher, batch: EventBatch, hdr: ResponseHeader): boolean {
    w.sentSinceProgress = true;
    const events = batch.events;
    const parts = w.fragment && events.length >= 2 ? fragment(events, this.#fragmentBytes) : undefined;
    if (parts === undefined || parts.length === 1) return w.sink.send(batchResponse(w.id, hdr, batch), w);
    // A refused fragment loses the rest: the watcher replays from this revision, as a whole.
    for (let i = 0; i < parts.length; i++) {
      if (!w.sink.send(batchResponse(w.id, hdr, new EventBatch(parts[i]!), i < parts.length - 1), w))
        return false;
    }
    return true;
  }
}

function eventBytes(e: Event): number {
  let n = EVENT_OVERHEAD_BYTES + (e.kv ? e.kv.key.length + e.kv.value.length : 0);
  if (e.prevKv) n += EVENT_OVERHEAD_BYTES + e.prevKv.key.length + e.prevKv.value.length;
  return n;
}

function fragment(events: Event[], limit: number): Event[][] {
  const parts: Event[][] = [];
  let cur: Event[] = [];
  let size = 0;
  for (const e of events) {
    const n = eventBytes(e);
    if (cur.length > 0 && size + n > limit) {
      parts.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(e);
    size += n;
  }
  parts.push(cur);
  return parts;
}

/** The map's value at `key`, made and stored first if there is none. */
function memo<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/** Whether a synced watcher takes change `c` at revision `rev` (not before its start, not filtered out). */
function wants(w: Watcher, rev: number, c: Change): boolean {
  return w.minRev <= rev && !(c.rev.tomb ? w.noDelete : w.noPut);
}

/** Builds an event once, with and without prev_kv, and shares it between watchers. */
class EventPair {
  #plain: Event | undefined;
  #withPrev: Event | undefined;
  #plainBatch: EventBatch | undefined;
  #withPrevBatch: EventBatch | undefined;
  constructor(
    readonly rev: Rev,
    readonly prev: Rev | undefined,
  ) {}

  plain(): Event {
    this.#plain ??= {
      type: this.rev.tomb ? Event_EventType.DELETE : Event_EventType.PUT,
      kv: this.rev.tomb ? tombstoneKeyValue(this.rev) : toKeyValue(this.rev),
      prevKv: undefined,
    };
    return this.#plain;
  }

  withPrev(): Event {
    this.#withPrev ??= { ...this.plain(), prevKv: this.prev ? toKeyValue(this.prev) : undefined };
    return this.#withPrev;
  }

  plainBatch(): EventBatch {
    this.#plainBatch ??= new EventBatch([this.plain()]);
    return this.#plainBatch;
  }

  withPrevBatch(): EventBatch {
    this.#withPrevBatch ??= new EventBatch([this.withPrev()]);
    return this.#withPrevBatch;
  }
}

/** etcd's compactMainRev: the compact revision, or -1 while the store was never compacted. */
function compactMainRev(store: KvStore): number {
  return store.compactRev;
}
