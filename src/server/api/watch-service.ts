/**
 * The Watch service: one bidirectional stream multiplexes many watchers (etcd's serverWatchStream).
 * Create, cancel and progress requests are handled as they arrive; events come from the mvcc
 * watch hub through a per-stream sink. When the client reads slower than events arrive, the
 * sink refuses (after WATCH_STREAM_MAX_PENDING queued responses, plus one per watcher of the
 * stream) and the hub replays the refused revisions from history later, so nothing is dropped
 * or repeated: as soon as the writer has taken the queue, not at the next periodic sync.
 *
 * The allowance per watcher is what etcd's concurrency gives for free: its send loop drains the
 * 128-response channel while the hub fills it, whereas here the hub offers a revision to every
 * watcher in one synchronous pass, before the writer can run. With a fixed 128, a put to 10,000
 * watchers of one stream went out 128 per sync round (7.8 s where etcd takes 0.6 s).
 *
 * A watcher's response that still waits in the queue when its next revision comes takes that
 * revision's events too, as etcd's catch-up responses carry several revisions: under load a
 * fan-out then writes one message per watcher for several puts instead of one per put, and
 * the watchers of a stream, joining the same batches, share the joined batch.
 */
import type {
  ResponseHeader,
  WatchCreateRequest,
  WatchResponse,
  WatchServiceImplementation,
} from '../../gen/etcdserverpb/rpc.js';
import {
  type AuthInfo,
  AuthOldRevisionError,
  checkRangeAuth,
  InvalidAuthTokenError,
  UserEmptyError,
  type Watcher,
  type WatchSink,
  watchResponse,
} from '../../mvcc/index.js';
import { joinResponses } from '../../mvcc/kv/watch-batch.js';
import type { Node } from '../bootstrap/node.js';
import { WatchQueue } from './watch-queue.js';

/**
 * Responses queued on one stream, beyond one per watcher, before the hub is told to hold back
 * (etcd's chan buffer is 128).
 */
export const WATCH_STREAM_MAX_PENDING = 128;
/**
 * Most bytes of events a waiting response grows to by taking later revisions of its watcher
 * (etcd's catch-up responses carry several revisions too; this keeps each message small).
 */
export const WATCH_JOIN_MAX_BYTES = 64 * 1024;
/** The watch ID of a progress response not tied to one watcher (clientv3.InvalidWatchID). */
const ALL_WATCHERS = -1n;

const DUPLICATE_ID = 'mvcc: duplicate watch ID provided on the WatchStream';
const EMPTY_RANGE = 'mvcc: watcher range is empty';

/**
 * etcd's watchStream.Watch refuses a range that holds no key: a range_end (other than "\0", all
 * keys from key on) that is not above the key.
 */
function emptyRange(key: Uint8Array, rangeEnd: Uint8Array): boolean {
  if (rangeEnd.length === 0 || (rangeEnd.length === 1 && rangeEnd[0] === 0)) return false;
  return Buffer.compare(key.length === 0 ? Buffer.from([0]) : key, rangeEnd) >= 0;
}

/** etcd's cancel reason for a refused watch: the whole gRPC status as Go prints it. */
function deniedReason(err: unknown): string {
  if (err instanceof InvalidAuthTokenError) return `rpc error: code = Unauthenticated desc = ${err.message}`;
  if (err instanceof AuthOldRevisionError || err instanceof UserEmptyError)
    return `rpc error: code = InvalidArgument desc = ${err.message}`;
  return 'rpc error: code = PermissionDenied desc = etcdserver: permission denied';
}

class WatchStream implements WatchSink {
  readonly out = new WatchQueue<WatchResponse>();
  /**
   * Responses queued before this position are closed to later events: a response not tied to
   * one watcher's events (created, canceled, progress) went after them, and a revision added
   * to one would now reach the client before that response, not after it.
   */
  #sealed = 0;
  readonly #node: Node;
  readonly #watchers = new Map<bigint, Watcher>();
  /**
   * Who created each watcher made while auth was on, so that a change of permissions can be
   * checked against open watchers (nothing is kept while auth is off).
   */
  readonly #owners = new Map<bigint, { who: string | undefined; key: Buffer; rangeEnd: Buffer }>();
  /**
   * IDs of watchers canceled as compacted: etcd keeps such an ID taken (a create with it is a
   * duplicate, automatic IDs skip it) until the client cancels it, and acknowledges that cancel.
   */
  readonly #compacted = new Set<bigint>();
  #nextId = 0n;
  #progressPending = false;
  /** The header last filled in: the hub gives every response of a revision the same one. */
  #filled: ResponseHeader | undefined;
  /** A catch-up round is scheduled for when the writer has taken what is queued. */
  #resyncing = false;

  constructor(node: Node) {
    this.#node = node;
  }

  /** The hub's sink: false tells it to replay later. */
  send(resp: WatchResponse, from?: Watcher): boolean {
    if (this.out.closed) return false;
    // Control messages (cancel with compact revision) always go; events respect backpressure.
    if (resp.events.length > 0 && this.out.length >= WATCH_STREAM_MAX_PENDING + this.#watchers.size) {
      this.#resyncSoon();
      return false;
    }
    if (resp.header !== this.#filled) {
      this.#node.header(resp.header);
      this.#filled = resp.header;
    }
    if (from !== undefined && resp.events.length > 0) {
      if (!this.#join(resp, from)) from.sinkMark = this.out.push(resp);
      return true;
    }
    if (resp.canceled) {
      if (resp.compactRevision !== 0n && this.#watchers.has(resp.watchId)) this.#compacted.add(resp.watchId);
      this.#watchers.delete(resp.watchId);
      this.#owners.delete(resp.watchId);
    }
    this.#push(resp);
    return true;
  }

  /**
   * Adds a watcher's events to its response still waiting in the queue, if it has one: one
   * message for several revisions, as etcd sends a catching-up watcher. Every watcher of a
   * fan-out joins the same batches, so they share the joined batch too.
   */
  #join(resp: WatchResponse, w: Watcher): boolean {
    if (w.sinkMark < this.#sealed || w.fragment || resp.fragment) return false;
    const prev = this.out.waiting(w.sinkMark);
    const joined = prev && joinResponses(prev, resp, WATCH_JOIN_MAX_BYTES);
    if (!joined) return false;
    this.out.replace(w.sinkMark, joined);
    return true;
  }

  /** Queues a response not tied to one watcher's events: nothing queued before it takes more. */
  #push(resp: WatchResponse): void {
    const at = this.out.push(resp);
    if (at >= 0) this.#sealed = at + 1;
  }

  /**
   * The hub holds refused watchers until a catch-up round: run one once the writer has had a
   * turn to take the queue. If it has not taken anything (the client is not reading), the
   * periodic round retries later; this one is not re-armed, so a stuck stream costs nothing.
   */
  #resyncSoon(): void {
    if (this.#resyncing) return;
    this.#resyncing = true;
    setImmediate(() => {
      this.#resyncing = false;
      if (!this.out.closed && this.out.length < WATCH_STREAM_MAX_PENDING) this.#node.syncWatchers();
    });
  }

  #control(watchId: bigint, fields: Partial<WatchResponse>): void {
    const header = this.#node.header(undefined, this.#node.sm.revision);
    this.#push({ ...watchResponse(watchId, header, []), ...fields });
  }

  async create(c: WatchCreateRequest, metadata?: Parameters<Node['auth']['infoOf']>[0]): Promise<void> {
    const auth = this.#node.auth;
    let who: AuthInfo | undefined;
    if (auth.enabled) {
      // etcd's isWatchPermitted: read permission on the watched range, with the stream's token.
      try {
        const key = c.key.length === 0 ? Buffer.from([0]) : c.key;
        who = await auth.infoOf(metadata);
        checkRangeAuth(this.#node.sm.auth, who, { key, rangeEnd: c.rangeEnd });
      } catch (err) {
        this.#control(ALL_WATCHERS, { created: true, canceled: true, cancelReason: deniedReason(err) });
        return;
      }
    }
    // As etcd's watchStream.Watch: the range first, then the ID; both refusals carry ID -1.
    if (emptyRange(c.key, c.rangeEnd)) {
      this.#control(ALL_WATCHERS, { created: true, canceled: true, cancelReason: EMPTY_RANGE });
      return;
    }
    let id = c.watchId;
    if (id !== 0n) {
      if (this.#watchers.has(id) || this.#compacted.has(id)) {
        this.#control(ALL_WATCHERS, { created: true, canceled: true, cancelReason: DUPLICATE_ID });
        return;
      }
    } else {
      while (this.#watchers.has(this.#nextId) || this.#compacted.has(this.#nextId)) this.#nextId++;
      id = this.#nextId++;
    }
    // etcd: an empty key means the smallest key, \0.
    const req = c.key.length === 0 ? { ...c, key: Buffer.from([0]) } : c;
    // Register first, send `created` before any event: the hub delivers only on later applies/syncs.
    const w = this.#node.sm.watches.watch(id, req, this);
    this.#watchers.set(id, w);
    if (auth.enabled)
      this.#owners.set(id, {
        who: who?.username,
        key: Buffer.from(req.key),
        rangeEnd: Buffer.from(req.rangeEnd),
      });
    this.#control(id, { created: true });
  }

  /**
   * After the auth state changed: each watcher whose creator may no longer read its range (user
   * deleted, role or permission revoked, auth enabled under a watch made without credentials) is
   * canceled with the reason a refused create gets. The stream's identity is kept, not its token:
   * a token retired by the change does not end watches its user may still make.
   */
  recheck(): void {
    const store = this.#node.sm.auth;
    if (!store.enabled) return;
    for (const [id, w] of this.#watchers) {
      const o = this.#owners.get(id);
      try {
        // A watcher made while auth was off has no credentials.
        if (!o) throw new UserEmptyError();
        const info = o.who === undefined ? undefined : { username: o.who, revision: store.revision };
        checkRangeAuth(store, info, { key: o.key, rangeEnd: o.rangeEnd });
      } catch (err) {
        this.#node.sm.watches.cancel(w);
        this.#watchers.delete(id);
        this.#owners.delete(id);
        this.#control(id, { canceled: true, cancelReason: deniedReason(err) });
      }
    }
  }

  cancel(id: bigint): void {
    if (this.#compacted.delete(id)) {
      this.#control(id, { canceled: true });
      return;
    }
    const w = this.#watchers.get(id);
    if (!w) return;
    this.#node.sm.watches.cancel(w);
    this.#watchers.delete(id);
    this.#owners.delete(id);
    this.#control(id, { canceled: true });
  }

  /** Answered once every watcher of the stream is synced, so the revision it carries is a promise kept. */
  progress(): void {
    this.#progressPending = true;
    this.afterSync();
  }

  afterSync = (): void => {
    if (!this.#progressPending) return;
    if (!this.#node.sm.watches.allSynced(this.#watchers.values())) return;
    this.#progressPending = false;
    this.#control(ALL_WATCHERS, {});
  };

  close(): void {
    for (const w of this.#watchers.values()) this.#node.sm.watches.cancel(w);
    this.#watchers.clear();
    this.#owners.clear();
    this.out.close();
  }
}

export function watchService(node: Node): WatchServiceImplementation {
  return {
    watch(requests, ctx) {
      const stream = new WatchStream(node);
      const recheck = () => stream.recheck();
      node.afterWatchSync.add(stream.afterSync);
      node.onAuthChange.add(recheck);
      node.metrics.watchStreams.inc();
      const end = () => {
        if (!node.streams.has(end)) return;
        node.metrics.watchStreams.dec();
        node.afterWatchSync.delete(stream.afterSync);
        node.onAuthChange.delete(recheck);
        node.streams.delete(end);
        ctx.signal.removeEventListener('abort', end);
        stream.close();
      };
      node.streams.add(end);
      ctx.signal.addEventListener('abort', end, { once: true });
      (async () => {
        for await (const r of requests) {
          if (r.createRequest) await stream.create(r.createRequest, ctx.metadata);
          else if (r.cancelRequest) stream.cancel(r.cancelRequest.watchId);
          else if (r.progressRequest) stream.progress();
        }
        // A client that half-closes keeps receiving until it cancels the call (as etcd does).
      })().catch(end);
      return stream.out;
    },
  };
}
