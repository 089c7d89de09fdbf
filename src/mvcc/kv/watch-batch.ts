/**
 * Events built and encoded once for every watcher that receives the same ones. A put watched by
 * 10,000 watchers yields 10,000 responses that differ only in their watch ID: the hub hands each
 * the same EventBatch, and an encoder that knows about batches (the gRPC watch service's) copies
 * the batch's bytes instead of encoding the events again per watcher.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { ResponseHeader, WatchResponse } from '../../gen/etcdserverpb/rpc.js';
import { Event } from '../../gen/mvccpb/kv.js';

/** WatchResponse.events' field number and wire type (11, length-delimited). */
const EVENTS_TAG = (11 << 3) | 2;

export class EventBatch {
  #bytes: Uint8Array | undefined;
  /** For a joined batch, until its bytes are made: the two batches it is. */
  #parts: [EventBatch, EventBatch] | undefined;
  /** The batch last joined after this one, and the result: every watcher joins the same. */
  #joined: { next: EventBatch; batch: EventBatch } | undefined;
  constructor(readonly events: Event[]) {}

  /** The events as a WatchResponse encodes them (each a field-11 entry), encoded on first use. */
  get bytes(): Uint8Array {
    if (this.#bytes === undefined) {
      if (this.#parts !== undefined) {
        const [a, b] = this.#parts;
        const bytes = new Uint8Array(a.byteLength + b.byteLength);
        bytes.set(a.bytes);
        bytes.set(b.bytes, a.bytes.length);
        this.#bytes = bytes;
        this.#parts = undefined;
      } else {
        const w = new BinaryWriter();
        for (const e of this.events) Event.encode(e, w.uint32(EVENTS_TAG).fork()).join();
        this.#bytes = w.finish();
      }
    }
    return this.#bytes;
  }

  /** The encoded length, without joining a joined batch's bytes. */
  get byteLength(): number {
    if (this.#bytes === undefined && this.#parts !== undefined)
      return this.#parts[0].byteLength + this.#parts[1].byteLength;
    return this.bytes.length;
  }

  /**
   * This batch's events followed by `next`'s, its bytes the two batches' bytes one after the
   * other (a repeated field's entries concatenate). Watchers that receive the same batches in a
   * row share the result, as they shared the parts.
   */
  join(next: EventBatch): EventBatch {
    const hit = this.#joined;
    if (hit?.next === next) return hit.batch;
    const batch = new EventBatch([...this.events, ...next.events]);
    batch.#parts = [this, next];
    this.#joined = { next, batch };
    return batch;
  }
}

/** A watch response whose events are a batch's (the side the encoder reads: see batchOf). */
class BatchResponse implements WatchResponse {
  readonly created = false;
  readonly canceled = false;
  readonly compactRevision = 0n;
  readonly cancelReason = '';
  readonly events: Event[];
  readonly #batch: EventBatch;
  constructor(
    readonly watchId: bigint,
    readonly header: ResponseHeader,
    batch: EventBatch,
    readonly fragment: boolean,
  ) {
    this.events = batch.events;
    this.#batch = batch;
  }

  static batchOf(resp: WatchResponse): EventBatch | undefined {
    if (!(#batch in resp)) return undefined;
    const b = (resp as BatchResponse).#batch;
    return b.events === resp.events ? b : undefined;
  }
}

/** A watch response carrying the batch's events for `watchId` (fragment: more of the revision follows). */
export function batchResponse(
  watchId: bigint,
  header: ResponseHeader,
  batch: EventBatch,
  fragment = false,
): WatchResponse {
  return new BatchResponse(watchId, header, batch, fragment);
}

/** A watch response carrying `events` and nothing else (the server's control responses too). */
export function watchResponse(watchId: bigint, header: ResponseHeader, events: Event[]): WatchResponse {
  return {
    header,
    watchId,
    created: false,
    canceled: false,
    compactRevision: 0n,
    cancelReason: '',
    fragment: false,
    events,
  };
}

/** The batch a response was built from, while its events are still exactly the batch's. */
export function batchOf(resp: WatchResponse): EventBatch | undefined {
  return BatchResponse.batchOf(resp);
}

/**
 * One response with `prev`'s events and then `next`'s, under `next`'s header: both must be
 * whole (not fragmented) batch responses of one watcher, together at most `maxBytes` of events.
 */
export function joinResponses(
  prev: WatchResponse,
  next: WatchResponse,
  maxBytes: number,
): WatchResponse | undefined {
  if (prev.watchId !== next.watchId || prev.fragment || next.fragment || next.header === undefined)
    return undefined;
  const a = batchOf(prev);
  const b = batchOf(next);
  if (a === undefined || b === undefined || a.byteLength + b.byteLength > maxBytes) return undefined;
  return new BatchResponse(next.watchId, next.header, a.join(b), false);
}
