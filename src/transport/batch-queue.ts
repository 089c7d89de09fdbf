/**
 * An unbounded queue read as an async iterable, in batches: a stream handler pushes responses
 * from callbacks and the gRPC writer pulls them. Each time the reader runs dry it takes every
 * queued item at once, so `length` (the producer's backpressure measure) counts only what the
 * writer has not taken yet. `close()` ends the iteration after what is queued.
 *
 * The server side's queue (the lease service's keep-alive stream; tests feed request streams
 * with it). The peer transport writes to its sockets and does not use it. It is not the
 * SDK's AsyncQueue (src/client/async-queue.ts), which the server may not import anyway
 * (test/unit/layout.test.ts): that one can `fail()` and counts every unread item, so the two
 * stay apart, named for how they differ.
 */
export class BatchQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  get length(): number {
    return this.#items.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  push(item: T): void {
    if (this.#closed) return;
    this.#items.push(item);
    this.#wake?.();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#items.length > 0) {
        const batch = this.#items;
        this.#items = [];
        for (const item of batch) yield item;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}
