/**
 * Watch responses that queued while a write was pending go out in one HTTP/2 write. grpc-js
 * writes each message of a stream on its own: its duplex stream has no `_writev`, so each
 * response is one `_write`, one serialize, one HTTP/2 stream write with its completion callback
 * and one trip through both streams' Writable bookkeeping; under a wide fan-out that was most of
 * a member's time per response (the Watch service's response path, one put to 10,000 watchers).
 * While a write is pending, nice-grpc keeps writing and Node's Writable buffers what comes;
 * given a `_writev`, it hands all of that over at once when the pending write completes. Here
 * those responses are framed as grpc-js frames each one (its serializeMessage) and written to
 * the HTTP/2 stream corked, which Node writes as one native writev: the same bytes, in the same
 * order, with the same errors.
 *
 * This reaches into grpc-js's internals (1.14: the duplex stream's `call` and its
 * serializeMessage, checkCancelled, maybeSendMetadata, sendStatus, stream and handler.path).
 * Only the Watch method is written this way; any other method, or a call without all of those
 * parts, is written one response at a time through sendMessage, as grpc-js does.
 */
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';

/** The parts of grpc-js's server call (BaseServerInterceptingCall) used here. */
interface Call {
  sendMessage(message: unknown, callback: () => void): void;
  serializeMessage?(message: unknown): Buffer;
  checkCancelled?(): boolean;
  maybeSendMetadata?(): void;
  sendStatus?(status: { code: number; details: string; metadata: null }): void;
  maxSendMessageSize?: number;
  callEventTracker?: { addMessageSent(): void };
  handler?: { path?: string };
  stream?: Writable;
}

type Chunk = { chunk: unknown };
type WriteV = (this: { call: Call }, chunks: Chunk[], callback: (err?: Error | null) => void) => void;

/** The method whose responses are batched. */
export const WATCH_PATH = '/etcdserverpb.Watch/Watch';
const INTERNAL = 13;

/** The duplex stream's `_writev`: the Watch method's buffered responses in one corked write. */
export const writeResponses: WriteV = function (chunks, callback) {
  const call = this.call;
  const stream = call.stream;
  if (
    call.handler?.path !== WATCH_PATH ||
    stream === undefined ||
    call.serializeMessage === undefined ||
    call.checkCancelled === undefined ||
    call.maybeSendMetadata === undefined ||
    call.sendStatus === undefined
  )
    return oneByOne(call, chunks, callback);
  if (call.checkCancelled()) return;
  const frames: Buffer[] = [];
  try {
    for (const c of chunks) frames.push(call.serializeMessage(c.chunk));
  } catch {
    call.sendStatus({ code: INTERNAL, details: 'Error serializing response', metadata: null });
    return;
  }
  const max = call.maxSendMessageSize ?? -1;
  // One too large: sendMessage refuses it with grpc-js's status, after the ones before it.
  if (max !== -1 && frames.some((f) => f.length - 5 > max)) return oneByOne(call, chunks, callback);
  call.maybeSendMetadata();
  stream.cork();
  for (let i = 0; i < frames.length - 1; i++) stream.write(frames[i]);
  stream.write(frames[frames.length - 1], (err?: Error | null) => {
    if (err) {
      call.sendStatus!({ code: INTERNAL, details: 'Internal server error', metadata: null });
      return;
    }
    if (call.callEventTracker) for (let i = 0; i < frames.length; i++) call.callEventTracker.addMessageSent();
    callback();
  });
  stream.uncork();
};

/** What grpc-js does without a `_writev`: each response through sendMessage, in turn. */
function oneByOne(call: Call, chunks: Chunk[], callback: () => void): void {
  let i = 0;
  const next = (): void => {
    if (i === chunks.length) callback();
    else call.sendMessage(chunks[i++]!.chunk, next);
  };
  next();
}

/** grpc-js's server-side duplex stream class (not exported by its index). */
export function duplexStreamClass(): { prototype: { _writev?: unknown } } {
  const require = createRequire(import.meta.url);
  return require('@grpc/grpc-js/build/src/server-call.js').ServerDuplexStreamImpl;
}

/** Gives grpc-js's server duplex streams writeResponses as `_writev` (once; idempotent). */
export function batchWatchWrites(): void {
  const proto = duplexStreamClass().prototype;
  // Writable's own is null: grpc-js defines none.
  if (proto._writev == null) proto._writev = writeResponses;
}
