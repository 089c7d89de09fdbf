/**
 * Hygiene of the gRPC connections on the client port: what grpc-go (etcd) closes or refuses
 * at once and grpc-js on Node's http2 would leave open.
 *
 * Connections (`guardSession`):
 * - After a connection error (a bad frame), nghttp2 sends GOAWAY and stops reading, but Node
 *   neither closes the socket nor tells anyone: the connection stays open for good. grpc-go
 *   closes it at once. Here a session idle for IDLE_PROBE_MS is sent one PING; when nghttp2 has
 *   not sent it PROBE_CHECK_MS later although nothing waits to be written to the socket and
 *   nothing was read, the session has ended itself, and the socket is destroyed.
 * - The client's SETTINGS must arrive within HANDSHAKE_TIMEOUT_MS, grpc-go's connection timeout.
 * - A client's graceful GOAWAY is not answered. grpc-go's server ignores it: the streams in
 *   flight finish and the client closes the connection when it is done. Node answers with a
 *   GOAWAY of its own at once and closes the session when its streams end, and a grpc-js client
 *   that is starting a call on that connection as it shuts it down (the etcd3 client resets its
 *   channels when its last watch is cancelled) fails it with `No connection established`.
 *
 * Streams (`guardStream`, which sees every DATA chunk before grpc-js does):
 * - Each message's 5-byte prefix is read as it arrives. A declared length above the receive
 *   limit is refused at once, RESOURCE_EXHAUSTED `grpc: received message larger than max (N vs.
 *   M)`, as grpc-go refuses it, instead of buffering toward grpc-js's own (higher) limit. The
 *   compressed flag with an identity or absent grpc-encoding is INTERNAL `grpc: compressed flag
 *   set with identity or empty encoding`, another flag INTERNAL `grpc: received unexpected
 *   payload format N` (grpc-js would decode both as uncompressed).
 * - A request that ends in the middle of a message is UNKNOWN `unexpected EOF`, and a call that
 *   takes one request and ends without one UNKNOWN `EOF` (grpc-go's io errors).
 * - A stream that sends nothing for `stallTimeoutMs` while the server waits for its bytes (in
 *   the middle of a message, or for the one request of a unary or server-streaming call and its
 *   end) is reset with CANCEL. grpc-go has no such bound; the wait is never counted while
 *   grpc-js itself is not reading.
 * - Once the server has ended its side of a stream the client keeps open, the stream is reset
 *   with NO_ERROR, as grpc-go does; grpc-js would leave it half-open until the client ends it.
 *
 * A refusal before grpc-js has sent response headers is a trailers-only answer with grpc-go's
 * status; after, it can only be a reset (ENHANCE_YOUR_CALM for a message too large, which
 * clients read as RESOURCE_EXHAUSTED; INTERNAL_ERROR for a bad flag, read as INTERNAL).
 * Refusing closes the stream at once, so grpc-js ignores what it still receives.
 */
import http2 from 'node:http2';
import type net from 'node:net';

/** A session idle this long is sent one PING. */
export const IDLE_PROBE_MS = 1_000;
/** How long after the PING its still being unsent means the session has ended itself. */
export const PROBE_CHECK_MS = 500;
/** The HTTP/2 handshake (the client's preface and SETTINGS), as grpc-go's connection timeout. */
export const HANDSHAKE_TIMEOUT_MS = 120_000;

export interface GrpcLimits {
  /** The largest request message, in bytes (etcd: --max-request-bytes plus gRPC's overhead). */
  maxReceiveBytes: number;
  /** How long a stream may send nothing while the server waits for its bytes. */
  stallTimeoutMs: number;
  /** Method paths (/pkg.Service/Method) that take exactly one request message. */
  singleRequestPaths: ReadonlySet<string>;
}

const registered = new WeakMap<object, GrpcLimits>();

/** Notes the limits of a gRPC server (nice-grpc's or grpc-js's), for the port that serves it. */
export function setGrpcLimits(server: object, limits: GrpcLimits): void {
  registered.set(server, limits);
}

export function grpcLimitsOf(server: object): GrpcLimits | undefined {
  return registered.get(server);
}

const {
  NGHTTP2_NO_ERROR,
  NGHTTP2_CANCEL,
  NGHTTP2_INTERNAL_ERROR,
  NGHTTP2_ENHANCE_YOUR_CALM,
  HTTP2_HEADER_CONTENT_TYPE,
} = http2.constants;

const RESOURCE_EXHAUSTED = 8;
const INTERNAL = 13;
const UNKNOWN = 2;

/**
 * Bytes handed to the socket and not yet written: libuv's write queue, which Node keeps on the
 * socket's handle (no public API says it; undefined, if it is gone, counts as blocked).
 */
function unwritten(socket: net.Socket): number | undefined {
  const size = (socket as unknown as { _handle?: { writeQueueSize?: unknown } })._handle?.writeQueueSize;
  return typeof size === 'number' ? size : undefined;
}

/** Node calls `close()` right after it emits a received GOAWAY: that one call does nothing. */
function skipNextClose(session: http2.ServerHttp2Session): void {
  const close = session.close;
  session.close = function skipped(this: http2.ServerHttp2Session) {
    session.close = close;
  } as typeof session.close;
  // Should Node stop calling it, the next close is a real one again.
  setImmediate(() => {
    if (session.close !== close) session.close = close;
  });
}

/** Watches one connection's session; `socket` is the socket it runs on. */
export function guardSession(session: http2.ServerHttp2Session, socket: net.Socket): void {
  const handshake = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
  handshake.unref();
  session.once('remoteSettings', () => clearTimeout(handshake));
  session.once('close', () => clearTimeout(handshake));
  session.on('goaway', (code) => {
    if (code === http2.constants.NGHTTP2_NO_ERROR) skipNextClose(session);
  });
  let probing = false;
  session.setTimeout(IDLE_PROBE_MS);
  session.on('timeout', () => {
    if (probing || session.closed || session.destroyed || socket.destroyed) return;
    const read = socket.bytesRead;
    let answered = false;
    try {
      if (
        !session.ping(() => {
          answered = true;
          probing = false;
        })
      )
        return;
    } catch {
      return;
    }
    probing = true;
    const check = setTimeout(() => {
      // After the poll phase: an answer that came in while this process was not running (a
      // paused member) is read before it is judged.
      setImmediate(() => {
        if (answered || socket.destroyed || session.destroyed) return;
        if (session.state.outboundQueueSize === 0) return; // sent: the peer is slow or gone, not ours to judge
        if (unwritten(socket) !== 0 || socket.bytesRead !== read) return; // blocked on the peer
        socket.destroy();
      });
    }, PROBE_CHECK_MS);
    check.unref();
  });
}

/** grpc-go's percent-encoding of grpc-message: bytes outside 0x20..0x7e, and '%'. */
function grpcMessage(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8'))
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** Ends a stream with a gRPC status (or, once headers are out, a reset with `rstCode`). */
function refuse(stream: http2.ServerHttp2Stream, code: number, message: string, rstCode: number): void {
  if (stream.closed || stream.destroyed) return;
  if (stream.headersSent) {
    stream.close(rstCode);
    return;
  }
  stream.respond(
    {
      ':status': 200,
      [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      'grpc-status': String(code),
      'grpc-message': grpcMessage(message),
    },
    { endStream: true },
  );
  // Marks the stream closed at once (grpc-js then drops what it still receives); the reset
  // follows the answer out.
  stream.close(NGHTTP2_NO_ERROR);
}

/** Watches one gRPC stream; runs before grpc-js's handlers see it. */
export function guardStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  limits: GrpcLimits | undefined,
): void {
  const contentType = headers[HTTP2_HEADER_CONTENT_TYPE];
  if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) return;
  const encoding = headers['grpc-encoding'];
  const compressionless = encoding === undefined || encoding === '' || encoding === 'identity';
  const path = headers[':path'] ?? '';
  const singleRequest = limits?.singleRequestPaths.has(path) ?? false;
  const maxReceiveBytes = limits?.maxReceiveBytes ?? Number.POSITIVE_INFINITY;

  const prefix = Buffer.alloc(5);
  let have = 0; // prefix bytes of the current message read so far
  let left = 0; // body bytes of the current message still to come
  let messages = 0;
  let done = false;

  let stall: NodeJS.Timeout | undefined;
  const waiting = () => have > 0 || left > 0 || (singleRequest && stream.state.remoteClose !== 1);
  const onStall = () => {
    stall = undefined;
    if (done || stream.closed || stream.destroyed || stream.state.remoteClose === 1) return;
    // Unread data, or grpc-js not asking for more: the wait is ours, not the client's.
    if (stream.isPaused() || stream.readableLength > 0) arm();
    else stop(() => stream.close(NGHTTP2_CANCEL));
  };
  const arm = () => {
    if (limits === undefined) return;
    if (stall) stall.refresh();
    else {
      stall = setTimeout(onStall, limits.stallTimeoutMs);
      stall.unref();
    }
  };
  const disarm = () => {
    if (stall) clearTimeout(stall);
    stall = undefined;
  };
  const stop = (end: () => void) => {
    done = true;
    disarm();
    stream.off('data', onData);
    end();
  };

  const onData = (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (left > 0) {
        const n = Math.min(left, chunk.length - i);
        left -= n;
        i += n;
        continue;
      }
      const n = Math.min(5 - have, chunk.length - i);
      chunk.copy(prefix, have, i, i + n);
      have += n;
      i += n;
      if (have < 5) break;
      have = 0;
      messages++;
      const flag = prefix[0]!;
      const length = prefix.readUInt32BE(1);
      // grpc-go's order: the size when the prefix is read, the flag once the message is.
      if (length > maxReceiveBytes)
        return stop(() =>
          refuse(
            stream,
            RESOURCE_EXHAUSTED,
            `grpc: received message larger than max (${length} vs. ${maxReceiveBytes})`,
            NGHTTP2_ENHANCE_YOUR_CALM,
          ),
        );
      if (flag === 1 && compressionless)
        return stop(() =>
          refuse(
            stream,
            INTERNAL,
            'grpc: compressed flag set with identity or empty encoding',
            NGHTTP2_INTERNAL_ERROR,
          ),
        );
      if (flag > 1)
        return stop(() =>
          refuse(
            stream,
            INTERNAL,
            `grpc: received unexpected payload format ${flag}`,
            NGHTTP2_INTERNAL_ERROR,
          ),
        );
      left = length;
    }
    if (waiting()) arm();
    else disarm();
  };

  stream.on('data', onData);
  stream.once('end', () => {
    disarm();
    // Once grpc-js has answered headers, it ends the call its own way.
    if (done || stream.headersSent) return;
    if (have > 0 || left > 0) stop(() => refuse(stream, UNKNOWN, 'unexpected EOF', NGHTTP2_CANCEL));
    else if (singleRequest && messages === 0) stop(() => refuse(stream, UNKNOWN, 'EOF', NGHTTP2_CANCEL));
  });
  stream.once('close', () => {
    done = true;
    disarm();
  });

  // grpc-go resets a stream it has answered whose client has not ended it; grpc-js leaves it
  // half-open. The check follows a trailers-only answer ('finish'), or grpc-js's trailers (its
  // 'wantTrailers' listener is in place before it ends the stream, so this one runs after it).
  const resetHalfOpen = () =>
    setImmediate(() => {
      if (stream.closed || stream.destroyed) return;
      const state = stream.state;
      if (state.localClose === 1 && state.remoteClose !== 1) stream.close(NGHTTP2_NO_ERROR);
    });
  stream.once('finish', () => {
    // The usual call: the client ended its side before the answer, so there is nothing to
    // reset, and no event-loop turn to spend finding that out.
    if (stream.state.remoteClose === 1) return;
    if (stream.listenerCount('wantTrailers') > 0) stream.once('wantTrailers', resetHalfOpen);
    else resetHalfOpen();
  });

  if (singleRequest) arm();
}
