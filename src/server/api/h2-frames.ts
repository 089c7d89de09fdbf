/**
 * HTTP/2 framing (RFC 9113 §4 and §6.2), just enough to read a client's frames off a connection
 * in order and to write HEADERS frames: url-authority.ts must see, and on some connections
 * rewrite, the request headers before Node's HTTP/2 stack (nghttp2) does.
 */

export const PREFACE_LENGTH = 24;
const FRAME_HEADER_LENGTH = 9;

export const DATA = 0;
export const HEADERS = 1;
export const PRIORITY = 2;
export const SETTINGS = 4;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

export const FLAG_ACK = 0x1;
export const FLAG_END_STREAM = 0x1;
export const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

/**
 * The largest frame a client may send a Node HTTP/2 server, and the largest we write to one:
 * SETTINGS_MAX_FRAME_SIZE's default, which neither nghttp2 nor grpc-js raises.
 */
export const MAX_FRAME_SIZE = 16_384;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
  /** The whole frame as it arrived (header and payload). */
  bytes: Buffer;
}

/**
 * Cuts a byte stream into frames whatever the chunks' boundaries. The client's connection
 * preface, which precedes its first frame, comes out first as a Buffer of its own.
 */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);
  #prefaceLeft = PREFACE_LENGTH;

  /** The pieces `chunk` completes, in order. */
  push(chunk: Buffer): (Frame | Buffer)[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: (Frame | Buffer)[] = [];
    if (this.#prefaceLeft > 0) {
      if (this.#buf.length < this.#prefaceLeft) return out;
      out.push(this.#buf.subarray(0, this.#prefaceLeft));
      this.#buf = this.#buf.subarray(this.#prefaceLeft);
      this.#prefaceLeft = 0;
    }
    while (this.#buf.length >= FRAME_HEADER_LENGTH) {
      const length = this.#buf.readUIntBE(0, 3);
      const end = FRAME_HEADER_LENGTH + length;
      if (this.#buf.length < end) break;
      const bytes = this.#buf.subarray(0, end);
      out.push({
        type: bytes[3]!,
        flags: bytes[4]!,
        streamId: bytes.readUInt32BE(5) & 0x7fff_ffff,
        payload: bytes.subarray(FRAME_HEADER_LENGTH),
        bytes,
      });
      this.#buf = this.#buf.subarray(end);
    }
    return out;
  }

  /** The type and declared length of the frame being read, once its header is in. */
  pending(): { type: number; length: number } | undefined {
    if (this.#prefaceLeft > 0 || this.#buf.length < FRAME_HEADER_LENGTH) return undefined;
    return { type: this.#buf[3]!, length: this.#buf.readUIntBE(0, 3) };
  }

  /** Bytes of a frame not yet complete. */
  rest(): Buffer {
    return this.#buf;
  }
}

export function encodeFrame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(FRAME_HEADER_LENGTH);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** A HEADERS frame's header-block fragment, and its priority fields if it has them (padding dropped). */
export function headersFragment(f: Frame): { fragment: Buffer; priority: Buffer | undefined } {
  let p = f.payload;
  if (f.flags & FLAG_PADDED) {
    const pad = p[0] ?? 0;
    p = p.subarray(1, Math.max(1, p.length - pad));
  }
  if (f.flags & FLAG_PRIORITY) return { fragment: p.subarray(5), priority: p.subarray(0, 5) };
  return { fragment: p, priority: undefined };
}

/**
 * A header block as HEADERS (+ CONTINUATION) frames within MAX_FRAME_SIZE. `endStream` and
 * `priority` are the original HEADERS frame's.
 */
export function headersFrames(
  streamId: number,
  endStream: boolean,
  priority: Buffer | undefined,
  block: Buffer,
): Buffer[] {
  const first = priority ? Buffer.concat([priority, block]) : block;
  const flags = (endStream ? FLAG_END_STREAM : 0) | (priority ? FLAG_PRIORITY : 0);
  const frames: Buffer[] = [];
  let rest = first;
  let type = HEADERS;
  for (;;) {
    const piece = rest.subarray(0, MAX_FRAME_SIZE);
    rest = rest.subarray(piece.length);
    const last = rest.length === 0;
    frames.push(
      encodeFrame(type, (type === HEADERS ? flags : 0) | (last ? FLAG_END_HEADERS : 0), streamId, piece),
    );
    if (last) return frames;
    type = CONTINUATION;
  }
}
