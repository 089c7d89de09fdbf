/** What a raw gRPC call (nice-grpc) came to, as a string a test compares with etcd's. */
import { type Channel, ClientError, createClient, type Metadata, Status } from 'nice-grpc';
import { WatchDefinition, type WatchRequest } from '../../src/gen/etcdserverpb/rpc.js';

async function settle(p: Promise<unknown>, describe: (err: ClientError) => string): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof ClientError) return describe(err);
    throw err;
  }
}

/** 'ok', or the refusal as `<CODE>: <message>` (e.g. `PERMISSION_DENIED: etcdserver: permission denied`). */
export const grpcOutcome = (p: Promise<unknown>): Promise<string> =>
  settle(p, (err) => `${Status[err.code]}: ${err.details}`);

/** 'ok', or the message (details) of the gRPC error the call failed with. */
export const grpcMessage = (p: Promise<unknown>): Promise<string> => settle(p, (err) => err.details);

/**
 * The first answer to a raw watch create on `channel`: 'ok' (created), `canceled: <reason>`
 * (created and canceled, as etcd refuses a watch), or 'ended' (the stream closed first).
 */
export async function watchOutcome(channel: Channel, key: string, metadata?: Metadata): Promise<string> {
  const ac = new AbortController();
  async function* requests(): AsyncIterable<WatchRequest> {
    yield { createRequest: { key: Buffer.from(key), rangeEnd: Buffer.alloc(0) } } as WatchRequest;
    await new Promise((r) => ac.signal.addEventListener('abort', r, { once: true }));
  }
  try {
    const it = createClient(WatchDefinition, channel).watch(requests(), { metadata, signal: ac.signal });
    for await (const r of it) return r.canceled ? `canceled: ${r.cancelReason}` : 'ok';
    return 'ended';
  } finally {
    ac.abort();
  }
}
