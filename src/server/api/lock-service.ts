/**
 * The Lock service (etcd's v3lock server, which runs concurrency.Mutex for its caller): Lock
 * queues the caller's key `<name>/<lease hex>` under the name and answers once it is the oldest
 * there; Unlock deletes a key. The lock lives as long as the lease.
 */
import type { LockServiceImplementation } from '../../gen/v3lockpb/v3lock.js';
import type { Node } from '../bootstrap/node.js';
import {
  ConcurrencyError,
  checkConcurrencyAuth,
  concurrencyCall,
  deleteIfCreatedAt,
  ERR_SESSION_EXPIRED,
  joinQueue,
  waitOldest,
} from './concurrency.js';

export function lockService(node: Node): LockServiceImplementation {
  return {
    lock: (req, ctx) =>
      concurrencyCall(async () => {
        const signal = ctx.signal;
        const prefix = Buffer.concat([req.name, Buffer.from('/')]);
        // The same session locking again reuses its key (and its place in the queue).
        const session = { lease: req.lease, value: Buffer.alloc(0) };
        const { key, resp } = await joinQueue(node, ctx.metadata, prefix, session, signal);
        const rev = resp.succeeded
          ? resp.header!.revision
          : (resp.responses[0]?.responseRange?.kvs[0]?.createRevision ?? 0n);
        let result: Awaited<ReturnType<typeof waitOldest>>;
        try {
          result = await waitOldest(node, prefix, key, rev, signal);
        } catch (err) {
          // A caller that gives up leaves the queue (etcd's Mutex.Lock unlocks on a failed wait).
          deleteIfCreatedAt(node, key, rev, AbortSignal.timeout(5_000)).catch(() => {});
          throw err;
        }
        if (!result.held) throw new ConcurrencyError(ERR_SESSION_EXPIRED);
        // etcd answers with the acquiring txn's header, or that of the read after the wait.
        return { header: result.waited ? result.header : resp.header, key };
      }),

    unlock: (req, ctx) =>
      concurrencyCall(async () => {
        await checkConcurrencyAuth(node, ctx.metadata, req.key, { prefix: false, write: true });
        const del = { deleteRange: { key: req.key, rangeEnd: Buffer.alloc(0), prevKv: false } };
        node.sm.validate(del);
        const resp = await node.proposer.propose(del, ctx.signal);
        return { header: node.header(resp.header) };
      }),
  };
}
