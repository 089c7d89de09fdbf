/**
 * Flow control for one follower in replicate state: the last index of each MsgApp sent and not
 * yet acknowledged, with their byte sizes. Full when either the message count or the byte budget
 * is reached; acknowledgements free everything up to the acked index.
 */
export class Inflights {
  readonly maxCount: number;
  readonly maxBytes: number;
  /** Last entry index of each in-flight message, ascending. */
  #indexes: number[] = [];
  #sizes: number[] = [];
  #start = 0;
  #bytes = 0;

  constructor(maxCount: number, maxBytes: number) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  get count(): number {
    return this.#indexes.length - this.#start;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('cannot add into a full inflights');
    this.#indexes.push(index);
    this.#sizes.push(bytes);
    this.#bytes += bytes;
  }

  /** Frees the messages whose last index is <= to. */
  freeLE(to: number): void {
    while (this.#start < this.#indexes.length && this.#indexes[this.#start]! <= to) {
      this.#bytes -= this.#sizes[this.#start]!;
      this.#start++;
    }
    if (this.#start > 64 && this.#start * 2 > this.#indexes.length) {
      this.#indexes = this.#indexes.slice(this.#start);
      this.#sizes = this.#sizes.slice(this.#start);
      this.#start = 0;
    }
  }

  full(): boolean {
    return this.count >= this.maxCount || (this.maxBytes > 0 && this.#bytes >= this.maxBytes);
  }

  reset(): void {
    this.#indexes = [];
    this.#sizes = [];
    this.#start = 0;
    this.#bytes = 0;
  }
}
