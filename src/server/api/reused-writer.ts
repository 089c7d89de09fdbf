/**
 * Response encoding into one BinaryWriter kept across calls. nice-grpc serializes a response as
 * `encode(message).finish()`, and ts-proto's encode makes a new writer each time, which starts
 * at 128 bytes and doubles: a range answer holding one 256-byte value allocates three buffers
 * and copies twice before `finish()` copies the bytes out. Reused, the writer has grown once;
 * `finish()` still hands out a copy of its own, so nothing later sees the writer's buffer.
 *
 * Encoding is synchronous: one writer serves every call of a server. A writer that held a
 * message larger than `keepBytes` is let go, so one huge answer does not stay in memory.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** A ts-proto encode: writes `message` into `writer`. */
type Encode<M> = (message: M, writer?: BinaryWriter) => unknown;

/** What nice-grpc needs of an encode's result. */
interface Finishable {
  finish(): Uint8Array;
}

export class ReusedWriter {
  readonly #keepBytes: number;
  #writer = new BinaryWriter();
  /** An encode whose bytes were not taken yet (finish not called): they must not prefix the next. */
  #pending = false;

  constructor(keepBytes = 64 * 1024) {
    this.#keepBytes = keepBytes;
  }

  /** `encode` writing into the kept writer. */
  encoder<M>(encode: Encode<M>): (message: M) => Finishable {
    const finish = (): Uint8Array => {
      this.#pending = false;
      const bytes = this.#writer.finish();
      if (bytes.length > this.#keepBytes) this.#writer = new BinaryWriter();
      return bytes;
    };
    const finishable: Finishable = { finish };
    return (message) => {
      if (this.#pending) this.#writer = new BinaryWriter();
      this.#pending = true;
      try {
        encode(message, this.#writer);
      } catch (err) {
        // Half a message is in it: empty it for the next one.
        this.#writer = new BinaryWriter();
        this.#pending = false;
        throw err;
      }
      return finishable;
    };
  }
}
