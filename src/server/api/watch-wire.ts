/**
 * The Watch service's wire encoding. A response built from an EventBatch (watch-batch.ts) is
 * written as its header, its watch ID and the batch's bytes, encoded once for every watcher
 * that shares them, instead of re-encoding the events per watcher; the bytes are those
 * WatchResponse.encode gives (test/server/watch-wire.test.ts). Every other response takes the
 * generated encoder.
 *
 * `watchDefinition` is WatchDefinition with that encoder, for the gRPC server: nice-grpc
 * serializes a response as `encode(fromPartial(r)).finish()`, and fromPartial alone would deep
 * copy every event for every watcher.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ResponseHeader, WatchDefinition, WatchResponse } from '../../gen/etcdserverpb/rpc.js';
import { batchOf } from '../../mvcc/kv/watch-batch.js';
import { batchWatchWrites } from './watch-writev.js';

/** Tags of WatchResponse's header (1), watch_id (2) and fragment (7) fields. */
const HEADER_TAG = (1 << 3) | 2;
const WATCH_ID_TAG = 2 << 3;
const FRAGMENT_TAG = 7 << 3;

/**
 * Encoded headers, by object: the hub gives every response of one revision the same header.
 * Kept with the term and revision they were encoded from, in case the object changed since.
 */
const headers = new WeakMap<ResponseHeader, { term: bigint; revision: bigint; bytes: Uint8Array }>();

function headerBytes(h: ResponseHeader): Uint8Array {
  const hit = headers.get(h);
  if (hit !== undefined && hit.term === h.raftTerm && hit.revision === h.revision) return hit.bytes;
  const bytes = ResponseHeader.encode(h, new BinaryWriter().uint32(HEADER_TAG).fork()).join().finish();
  headers.set(h, { term: h.raftTerm, revision: h.revision, bytes });
  return bytes;
}

/** The response's protobuf bytes: byte for byte WatchResponse.encode(resp).finish(). */
export function encodeWatchResponse(resp: WatchResponse): Uint8Array {
  const batch = batchOf(resp);
  // Only event responses come from batches; anything else set on one takes the general path.
  if (
    batch === undefined ||
    resp.created ||
    resp.canceled ||
    resp.compactRevision !== 0n ||
    resp.cancelReason !== ''
  )
    return WatchResponse.encode(resp).finish();
  const id = resp.watchId;
  // A negative or very large ID (an int64 varint of up to 10 bytes) takes the general writer.
  if (id < 0n || id > MAX_SMALL_ID) {
    const w = new BinaryWriter();
    if (resp.header !== undefined) w.raw(headerBytes(resp.header));
    w.uint32(WATCH_ID_TAG).int64(id);
    if (resp.fragment) w.uint32(FRAGMENT_TAG).bool(true);
    return w.raw(batch.bytes).finish();
  }
  // Written straight into one buffer of the right size: no writer, no growing, no final copy.
  const head = resp.header === undefined ? EMPTY : headerBytes(resp.header);
  const events = batch.bytes;
  let n = Number(id);
  const out = Buffer.allocUnsafe(
    head.length + (n === 0 ? 0 : 1 + varintLength(n)) + (resp.fragment ? 2 : 0) + events.length,
  );
  out.set(head);
  let at = head.length;
  if (n !== 0) {
    out[at++] = WATCH_ID_TAG;
    while (n > 0x7f) {
      out[at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    out[at++] = n;
  }
  if (resp.fragment) {
    out[at++] = FRAGMENT_TAG;
    out[at++] = 1;
  }
  out.set(events, at);
  return out;
}

const EMPTY = new Uint8Array(0);
/** IDs up to here are written as a varint of a double (exact below 2^53). */
const MAX_SMALL_ID = BigInt(Number.MAX_SAFE_INTEGER);

function varintLength(n: number): number {
  let len = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/** What nice-grpc calls `finish()` on: the bytes, already made. */
const encoded = (bytes: Uint8Array) => ({ finish: () => bytes }) as BinaryWriter;

const responseType: typeof WatchResponse = {
  ...WatchResponse,
  // A batch response is already a complete WatchResponse: copying it is the cost this avoids.
  fromPartial: (r) => (batchOf(r as WatchResponse) ? (r as WatchResponse) : WatchResponse.fromPartial(r)),
  encode: (r, writer) =>
    writer === undefined ? encoded(encodeWatchResponse(r)) : WatchResponse.encode(r, writer),
};

// Responses that queue while a write is pending go out in one HTTP/2 write (watch-writev.ts).
batchWatchWrites();

/** WatchDefinition whose responses are written with encodeWatchResponse. */
export const watchDefinition: typeof WatchDefinition = {
  ...WatchDefinition,
  methods: {
    ...WatchDefinition.methods,
    watch: { ...WatchDefinition.methods.watch, responseType },
  },
};
