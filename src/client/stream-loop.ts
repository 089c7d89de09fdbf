/**
 * The loop behind each long-lived stream of the SDK (the lease keeper's keepalives, the watch
 * hub's watches): one stream at a time, on the active member, for as long as there is work. A
 * stream that breaks by itself (member gone, no leader, reset) marks its member failed, so the
 * next one goes to another member, after a backoff that grows with the failures in a row.
 */
import type { Metadata } from 'nice-grpc-common';
import { fullJitter } from '../backoff.js';
import type { AsyncQueue } from './async-queue.js';
import { delay } from './call-options.js';
import type { Connections } from './connections.js';

/** One stream: the requests it sends (ended with the stream), and the signal that ends it. */
export interface LoopStream {
  requests: Pick<AsyncQueue<unknown>, 'end'>;
  abort: AbortController;
}

/** What the loop runs: each part is the owner's (LeaseKeeper, WatchHub). */
export interface StreamLoopParts<S extends LoopStream, Res> {
  /** Whether there is anything to keep a stream open for (a lease kept, a watch open). */
  hasWork(): boolean;
  /** A new stream for member `i`. */
  create(i: number): S;
  /** The stream is now `current`: queue what it starts with. */
  started(s: S): void;
  /** The call on member `i` over the stream's requests. */
  call(i: number, s: S, metadata: Metadata | undefined): AsyncIterable<Res>;
  onResponse(s: S, res: Res): void;
}

/**
 * The wait after `failures` broken streams in a row: the shared jittered back-off, whose mean
 * (50 ms doubling, up to 1 s) is the fixed schedule this replaced. Jitter keeps every client
 * of a member that went away from reconnecting to the next one in the same instant.
 */
export function streamBackoffMs(failures: number, random: () => number = Math.random): number {
  return fullJitter(failures, STREAM_BACKOFF, random);
}
const STREAM_BACKOFF = { baseMs: 50, capMs: 2000 };

export class StreamLoop<S extends LoopStream, Res> {
  readonly #conns: Connections;
  readonly #parts: StreamLoopParts<S, Res>;
  #running = false;
  /** The stream open now, if any. */
  current: S | undefined;

  constructor(conns: Connections, parts: StreamLoopParts<S, Res>) {
    this.#conns = conns;
    this.#parts = parts;
  }

  #wanted(): boolean {
    return this.#parts.hasWork() && !this.#conns.closed;
  }

  /** Starts the loop unless it runs; one that ends while work was added as it wound down starts again. */
  ensure(): void {
    if (this.#running) return;
    this.#running = true;
    this.#run().finally(() => {
      this.#running = false;
      if (this.#wanted()) this.ensure();
    });
  }

  async #run(): Promise<void> {
    const conns = this.#conns;
    const p = this.#parts;
    let failures = 0;
    while (this.#wanted()) {
      const i = conns.active;
      const s = p.create(i);
      this.current = s;
      p.started(s);
      try {
        const metadata = await conns.streamMetadata(i, s.abort.signal);
        for await (const res of p.call(i, s, metadata)) {
          failures = 0;
          p.onResponse(s, res);
        }
      } catch {
        if (!s.abort.signal.aborted) conns.failed(i, 'stream');
      } finally {
        s.requests.end();
        s.abort.abort();
        if (this.current === s) this.current = undefined;
      }
      if (!this.#wanted()) break;
      failures++;
      // The user holds a lease or a watch on purpose: this timer may keep the process alive.
      await delay(streamBackoffMs(failures), conns.closeSignal).catch(() => {});
    }
  }
}
