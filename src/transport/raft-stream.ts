/**
 * The wire of the raft stream: each member's appends, acknowledgements and heartbeats to a peer
 * travel on one long-lived TCP (or TLS) connection of its own, on the peer port, beside gRPC.
 *
 * Why not a gRPC call: node:http2 puts a stream's bytes on the socket only in the event loop's
 * check phase, after the rest of the sender's turn (the WAL write's dispatch, client calls), and
 * that put each of the four peer hops of a forwarded write at 200-300 µs against 30-60 µs for a
 * plain socket write between two Node processes. A socket write is attempted in the caller's
 * turn. etcd does the same: its raft messages go on rafthttp's own streams, not gRPC.
 *
 * The opener writes RAFT_STREAM_MAGIC (so the peer port can tell it from the HTTP/2 preface),
 * then frames: a 4-byte big-endian length and that many bytes of a MessageBatch (the protobuf
 * the gRPC `Send` method carries). The receiver answers with empty frames, at most one per
 * ACK_INTERVAL_MS while frames arrive: the sender's proof that what it writes is read (TCP alone
 * would buffer writes to a host that vanished without a reset for many minutes; gRPC's keepalive
 * pings did this job before). To refuse the stream the receiver writes one frame, a gRPC status
 * code byte and UTF-8 details, and ends the connection.
 */

/** The first bytes of a raft stream; they differ from the HTTP/2 preface ("PRI …") at once. */
export const RAFT_STREAM_MAGIC = Buffer.from('CONCORD-RAFT/1\r\n', 'latin1');

const HEADER_BYTES = 4;

/** The receiver acknowledges reading at most this often. */
export const ACK_INTERVAL_MS = 1_000;
/**
 * A sender that has written and heard no acknowledgement for this long takes the peer for gone:
 * it closes the connection (the core hears "unreachable") and dials again.
 */
export const SILENCE_LIMIT_MS = 10_000;
/** The receiver's acknowledgement: an empty frame. */
export const ACK_FRAME: Buffer = Buffer.alloc(HEADER_BYTES);

/** A frame's length prefix, for writing ahead of its bytes (one writev with them). */
export function frameHeader(length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32BE(length, 0);
  return h;
}

/** The receiver's refusal: a status code and why, as one frame. */
export function refusalFrame(code: number, details: string): Buffer {
  const text = Buffer.from(details, 'utf8');
  const f = Buffer.allocUnsafe(HEADER_BYTES + 1 + text.length);
  f.writeUInt32BE(1 + text.length, 0);
  f[HEADER_BYTES] = code;
  text.copy(f, HEADER_BYTES + 1);
  return f;
}

/** A non-empty frame from the receiver (an empty one is an acknowledgement). */
export function parseRefusal(frame: Buffer): { code: number; details: string } {
  return { code: frame[0]!, details: frame.subarray(1).toString('utf8') };
}

export class FrameTooLargeError extends Error {
  constructor(length: number, max: number) {
    super(`concord: raft stream frame of ${length} bytes exceeds the limit of ${max}`);
    this.name = 'FrameTooLargeError';
  }
}

/**
 * Splits a byte stream into frames. Chunks are kept as they come until a frame is whole, so a
 * large frame arriving in many reads is copied once, not once per read.
 */
export class FrameReader {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #size = 0;
  /** The length of the frame being read (its header has arrived), or -1. */
  #want = -1;

  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  /** The frames `chunk` completes, in order. A length over the limit throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    // The usual case: nothing pending, and the chunk holds whole frames.
    let buf: Buffer;
    if (this.#size === 0) buf = chunk;
    else {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      const need = this.#want < 0 ? HEADER_BYTES : HEADER_BYTES + this.#want;
      if (this.#size < need) return frames;
      buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
      this.#chunks = [];
      this.#size = 0;
    }
    let at = 0;
    this.#want = -1;
    while (buf.length - at >= HEADER_BYTES) {
      const len = buf.readUInt32BE(at);
      if (len > this.#max) throw new FrameTooLargeError(len, this.#max);
      if (buf.length - at - HEADER_BYTES < len) {
        this.#want = len;
        break;
      }
      frames.push(buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + len));
      at += HEADER_BYTES + len;
    }
    if (at < buf.length) {
      this.#chunks.push(buf.subarray(at));
      this.#size = buf.length - at;
    }
    return frames;
  }
}
