/**
 * An unbounded queue read as an async iterable: a stream handler pushes responses from
 * callbacks and the gRPC layer pulls them. `close()` ends the iteration after what is queued;
 * `length` lets the producer apply its own backpressure.
 *
 * The server side's queue (the watch and lease services, the peer transport); the SDK has its
 * own (src/client/async-queue.ts), which the server may not import (test/unit/layout.test.ts).
 * They differ on purpose: the reader here takes what is queued in one batch, so `length` counts
 * only what the gRPC writer has not taken yet: the watch service's WATCH_STREAM_MAX_PENDING and
 * the peer transport's MAX_QUEUED_BATCHES are checked against that count, and merging the two
 * would move those points. The SDK's queue can `fail()` and counts every unread item.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
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
