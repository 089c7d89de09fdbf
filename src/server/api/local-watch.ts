/**
 * Watchers on this member's own state machine, for handlers that block on key changes (Lock,
 * Campaign, Observe). Every member applies every committed write, so a follower sees the same
 * events as the leader without a watch stream to anyone. Watchers start at the next revision:
 * registered right after a local read, they miss nothing that read did not see.
 */

import { Status } from 'nice-grpc-common';
import { WatchCreateRequest, type WatchResponse } from '../../gen/etcdserverpb/rpc.js';
import type { Watcher, WatchSink } from '../../mvcc/index.js';
import type { Node } from '../bootstrap/node.js';
import { CanceledError, ServerRequestError, StoppedError } from '../errors.js';

/** A watcher disappeared under us (etcd's waitDelete words it the same way). */
export class LostWatcherError extends ServerRequestError {
  constructor() {
    super('lost watcher waiting for delete', Status.UNKNOWN, 'lost-watcher');
  }
}

export class LocalWatch implements WatchSink {
  readonly #node: Node;
  readonly #watchers: Watcher[] = [];
  readonly #queue: WatchResponse[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #stopped = false;
  readonly #stop = (): void => {
    this.#stopped = true;
    this.close();
  };

  /** Watches each key (or [key, rangeEnd) range) from the next revision on. */
  constructor(node: Node, ranges: { key: Buffer; rangeEnd?: Buffer }[]) {
    this.#node = node;
    for (const r of ranges)
      this.#watchers.push(node.sm.watches.watch(0n, WatchCreateRequest.fromPartial(r), this));
    // A member shutting down ends blocked handlers, as it ends streams.
    node.streams.add(this.#stop);
  }

  /** Called by the hub while it applies a write: only queue here, the waiter reads later. */
  send(resp: WatchResponse): boolean {
    if (this.#closed) return true;
    this.#queue.push(resp);
    this.#wake?.();
    return true;
  }

  /** The next response (one revision's events); rejects when `signal` aborts or the member stops. */
  async next(signal: AbortSignal): Promise<WatchResponse> {
    for (;;) {
      const resp = this.#queue.shift();
      if (resp) {
        // Only compaction cancels a watcher, and these start at the head: still, never spin.
        if (resp.canceled) throw new LostWatcherError();
        this.#node.header(resp.header);
        return resp;
      }
      if (this.#stopped) throw new StoppedError();
      if (this.#closed) throw new LostWatcherError();
      if (signal.aborted) throw new CanceledError();
      let onAbort: (() => void) | undefined;
      try {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          onAbort = resolve;
          signal.addEventListener('abort', onAbort, { once: true });
        });
      } finally {
        this.#wake = undefined;
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#node.streams.delete(this.#stop);
    for (const w of this.#watchers) this.#node.sm.watches.cancel(w);
    this.#wake?.();
  }
}
