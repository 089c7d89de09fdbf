/**
 * A watch stream's outgoing responses, read by the gRPC writer (or the JSON gateway) as an async
 * iterable. It counts what waits as the transport's BatchQueue does (`length` is what was pushed
 * since the reader last ran dry and took everything; WATCH_STREAM_MAX_PENDING is set against
 * that count), and besides lets the stream replace a response that has not been handed to the
 * reader yet: the stream adds a watcher's next revision to the response it still has waiting,
 * instead of queueing a second message (watch-service.ts).
 */
export class WatchQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  /** The next item to hand to the reader. */
  #head = 0;
  /** Items before this index were taken by the reader when it last ran dry. */
  #taken = 0;
  /** The position (counted since the queue began) of #items[0]. */
  #base = 0;
  #wake: (() => void) | undefined;
  #closed = false;

  get length(): number {
    return this.#items.length - this.#taken;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues `item`; returns its position, or -1 when the queue is closed. */
  push(item: T): number {
    if (this.#closed) return -1;
    this.#items.push(item);
    this.#wake?.();
    return this.#base + this.#items.length - 1;
  }

  /** The item pushed at `pos`, if the reader has not been handed it yet. */
  waiting(pos: number): T | undefined {
    const i = pos - this.#base;
    return i >= this.#head && i < this.#items.length ? this.#items[i] : undefined;
  }

  /** Puts `item` in place of the waiting one at `pos` (see waiting). */
  replace(pos: number, item: T): void {
    const i = pos - this.#base;
    if (i < this.#head || i >= this.#items.length) throw new RangeError(`no waiting item at ${pos}`);
    this.#items[i] = item;
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#head === this.#taken && this.#head < this.#items.length) {
        // Ran dry of what was taken: take everything queued, dropping what went out.
        if (this.#head > 0) {
          this.#items = this.#items.slice(this.#head);
          this.#base += this.#head;
          this.#head = 0;
        }
        this.#taken = this.#items.length;
      }
      if (this.#head < this.#items.length) {
        yield this.#items[this.#head++]!;
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
