/**
 * An unbounded push queue consumed as an async iterable: the request side of a bidirectional
 * stream, and the buffer between a watch stream and the user's `for await` loop.
 *
 * The server side has its own, BatchQueue (src/transport/batch-queue.ts): the SDK may import
 * nothing but src/gen (test/unit/layout.test.ts), and the two differ on purpose. This one can
 * `fail()` (a stream error reaches the consumer's `for await` after what is queued), ends when
 * its consumer returns, and counts in `size` every item not yet read; BatchQueue hands queued
 * items to the gRPC writer in batches, and its `length` (its backpressure measure) counts only
 * items not yet taken, so one class for both would move the server's backpressure points.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #head = 0;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #ended = false;
  #error: { e: unknown } | undefined;

  push(item: T): void {
    if (this.#ended) return;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** No more items: the consumer finishes after draining what is queued. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settleWaiter();
  }

  /** The consumer throws `e` after draining what is queued. */
  fail(e: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = { e };
    this.#settleWaiter();
  }

  get ended(): boolean {
    return this.#ended;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  #settleWaiter(): void {
    const w = this.#waiter;
    if (!w) return;
    this.#waiter = undefined;
    if (this.#error) w.reject(this.#error.e);
    else w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head++]!;
      // Compact now and then so a long-lived queue does not grow its backing array forever.
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      if (this.#error) return Promise.reject(this.#error.e);
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.end();
        return { value: undefined, done: true };
      },
    };
  }
}
