/**
 * Go's clientv3 (etcdctl, Go programs) dials an endpoint written as a URL — the form etcd's docs
 * and every advertised client URL use — with the URL itself as each request's :authority
 * ("http://127.0.0.1:2379"). Go's HTTP/2 server takes it. nghttp2, under Node's, refuses an
 * :authority holding a '/' and resets the stream with PROTOCOL_ERROR, so every per-endpoint call
 * (`endpoint status`, `hashkv`, `move-leader`, `snapshot save`, anything with `--cluster`) failed.
 *
 * So, before the client port hands an HTTP/2 connection to the gRPC server, `screen` reads the
 * client's frames up to its first request (it sends the server's first SETTINGS itself, empty:
 * the defaults, so that a Go client, which waits for it, goes on). A connection whose first
 * :authority is a URL is served through AuthorityRewriter, a stream between the socket and
 * Node's HTTP/2 that puts the URL's host:port in every request's :authority; every other
 * connection is handed over untouched, and its socket stays on Node's native path. grpc-go keeps
 * one :authority for a connection's life, so the first request decides.
 */
import type net from 'node:net';
import { Duplex } from 'node:stream';
import {
  CONTINUATION,
  encodeFrame,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  type Frame,
  FrameReader,
  HEADERS,
  headersFragment,
  headersFrames,
  MAX_FRAME_SIZE,
  PRIORITY,
  SETTINGS,
  WINDOW_UPDATE,
} from './h2-frames.js';
import { HeaderDecoder, HeaderEncoder, type HeaderField } from './hpack.js';

/**
 * How long a connection that has not made a request yet is held before it is handed over as it
 * is. A client that connects ahead of its first call costs nothing but this wait's timer.
 */
export const SCREEN_TIMEOUT_MS = 1000;

/** The host:port of an :authority written as a URL ("https://h:2379" → "h:2379"), else undefined. */
export function urlAuthorityHost(authority: string): string | undefined {
  if (!authority.includes('://')) return undefined;
  try {
    const host = new URL(authority).host;
    return host === '' ? undefined : host;
  } catch {
    return undefined;
  }
}

/** Collects a header block across HEADERS and CONTINUATION frames. */
class BlockCollector {
  #open: { first: Frame; priority: Buffer | undefined; fragments: Buffer[] } | undefined;

  /** A whole block when `f` completes one; undefined while one is open, or for other frames. */
  take(f: Frame): { first: Frame; priority: Buffer | undefined; block: Buffer } | undefined {
    if (f.type === HEADERS) {
      const { fragment, priority } = headersFragment(f);
      this.#open = { first: f, priority, fragments: [fragment] };
    } else if (f.type === CONTINUATION && this.#open) this.#open.fragments.push(f.payload);
    else return undefined;
    if (!(f.flags & FLAG_END_HEADERS)) return undefined;
    const { first, priority, fragments } = this.#open!;
    this.#open = undefined;
    return { first, priority, block: fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments) };
  }

  get open(): boolean {
    return this.#open !== undefined;
  }
}

/** Frames a client may send before its first request without telling us anything. */
const PRELUDE = new Set([SETTINGS, WINDOW_UPDATE, PRIORITY]);

/**
 * Reads `socket` (whose first bytes, `head`, are the connection preface) up to the client's
 * first request, then calls `done` with every byte read and whether the connection needs its
 * :authority rewritten. The socket is left paused with nothing unread taken from it.
 *
 * The client's acknowledgement of our SETTINGS is taken out: Node's HTTP/2 did not send them,
 * and nghttp2 ends a connection on an ACK it did not ask for. So after the first request the
 * screen waits for that ACK (a client sends it as soon as it reads our SETTINGS, which went out
 * first) before it hands the connection over. Anything else a client should not send yet (a
 * PING, DATA, an oversized or unknown frame) hands the connection over at once, untouched, for
 * nghttp2 to judge as it always has.
 */
export function screen(
  socket: net.Socket,
  head: Buffer,
  done: (bytes: Buffer, rewrite: boolean) => void,
): void {
  const reader = new FrameReader();
  const blocks = new BlockCollector();
  const kept: Buffer[] = [];
  let acked = false;
  let rewrite: boolean | undefined;
  /** A frame that says this is no request we need to see: nghttp2 judges it. */
  let unexpected = false;
  let finished = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', onError);
    socket.pause();
    done(Buffer.concat([...kept, reader.rest()]), rewrite ?? false);
  };
  const onData = (chunk: Buffer) => {
    for (const piece of reader.push(chunk)) {
      if (Buffer.isBuffer(piece)) {
        kept.push(piece);
        continue;
      }
      if (!acked && piece.type === SETTINGS && piece.flags & FLAG_ACK) {
        acked = true;
        continue;
      }
      kept.push(piece.bytes);
      if (rewrite !== undefined) continue;
      const whole = blocks.take(piece);
      if (whole) rewrite = authorityOf(whole.block) !== undefined;
      else if (!blocks.open && !PRELUDE.has(piece.type)) unexpected = true;
    }
    const next = reader.pending();
    if (next && (next.length > MAX_FRAME_SIZE || !expected(next.type))) unexpected = true;
    if (unexpected || (rewrite !== undefined && acked)) finish();
  };
  const onClose = () => {
    finished = true;
    clearTimeout(timer);
  };
  // Until a server owns it, a reset socket must not become an uncaught error.
  const onError = () => socket.destroy();
  const timer = setTimeout(finish, SCREEN_TIMEOUT_MS);
  timer.unref();
  socket.on('data', onData);
  socket.once('close', onClose);
  socket.on('error', onError);
  socket.write(encodeFrame(SETTINGS, 0, 0, Buffer.alloc(0)));
  onData(head);
}

function expected(type: number): boolean {
  return PRELUDE.has(type) || type === HEADERS || type === CONTINUATION;
}

/** The URL host of a first request's :authority, if it is a URL (a fresh decoder: the first block needs no table). */
function authorityOf(block: Buffer): string | undefined {
  try {
    const authority = new HeaderDecoder().decode(block).find((f) => f.name === ':authority');
    return authority ? urlAuthorityHost(authority.value) : undefined;
  } catch {
    return undefined; // nghttp2 will refuse it as it should
  }
}

function withHostAuthority(fields: HeaderField[]): HeaderField[] {
  return fields.map((f) => {
    if (f.name !== ':authority') return f;
    const host = urlAuthorityHost(f.value);
    return host === undefined ? f : { ...f, value: host };
  });
}

/**
 * The connection as Node's HTTP/2 server sees it: what the client sends, with every request's
 * :authority made a host:port; what the server sends, written to the socket as it is. Header
 * blocks are decoded against the client's dynamic table and encoded again against our own,
 * which is the one Node's decoder then tracks; every other frame passes as it came.
 */
export class AuthorityRewriter extends Duplex {
  readonly socket: net.Socket;
  readonly #reader = new FrameReader();
  readonly #blocks = new BlockCollector();
  readonly #decoder = new HeaderDecoder();
  readonly #encoder = new HeaderEncoder();

  /** `bytes`: what was read from `socket` before (preface first). */
  constructor(socket: net.Socket, bytes: Buffer) {
    super({ allowHalfOpen: true });
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (!this.#feed(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    this.#feed(bytes);
  }

  #feed(chunk: Buffer): boolean {
    const out: Buffer[] = [];
    try {
      for (const piece of this.#reader.push(chunk)) {
        if (Buffer.isBuffer(piece)) out.push(piece);
        else if (piece.type !== HEADERS && piece.type !== CONTINUATION) out.push(piece.bytes);
        else {
          const whole = this.#blocks.take(piece);
          if (!whole) continue;
          const fields = withHostAuthority(this.#decoder.decode(whole.block));
          const endStream = (whole.first.flags & FLAG_END_STREAM) !== 0;
          out.push(
            ...headersFrames(whole.first.streamId, endStream, whole.priority, this.#encoder.encode(fields)),
          );
        }
      }
    } catch (err) {
      // A header block the client's table cannot decode: the connection is beyond repair, as
      // nghttp2 would judge it (COMPRESSION_ERROR).
      this.destroy(err as Error);
      return false;
    }
    return out.length === 0 || this.push(out.length === 1 ? out[0] : Buffer.concat(out));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    cb(err);
  }
}
