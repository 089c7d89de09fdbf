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
  constructor(readonly events: Event[]) {}

  /** The events as a WatchResponse encodes them (each a field-11 entry), encoded on first use. */
  get bytes(): Uint8Array {
    if (this.#bytes === undefined) {
      const w = new BinaryWriter();
      for (const e of this.events) Event.encode(e, w.uint32(EVENTS_TAG).fork()).join();
      this.#bytes = w.finish();
    }
    return this.#bytes;
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
