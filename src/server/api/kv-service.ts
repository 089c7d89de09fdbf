/**
 * The KV service (etcd's v3rpc kvServer + the server's request checks): requests are checked
 * before they are proposed (etcd rejects bad requests without touching Raft), writes go through
 * the Proposer, linearizable reads wait for `readIndex`, serializable reads are served locally.
 */
import { mutated } from '../../failpoints.js';
import type { KVServiceImplementation, RequestOp, TxnRequest } from '../../gen/etcdserverpb/rpc.js';
import { checkRangeAuth, checkTxnAuth, isReadOnlyTxn } from '../../mvcc/index.js';
import type { Node } from '../bootstrap/node.js';
import { remarshaledTxn, servedAsDecoded, servedRange, servedTxn } from './range-end.js';

/** etcd serves a read-only txn as serializable only if every range in it asks to be. */
function serializableTxn(t: TxnRequest): boolean {
  const ok = (ops: RequestOp[]): boolean =>
    ops.every((op) =>
      op.requestTxn ? serializableTxn(op.requestTxn) : op.requestRange ? op.requestRange.serializable : true,
    );
  return ok(t.success) && ok(t.failure);
}

/** Test builds only (see src/failpoints.ts): a follower serves linearizable reads locally. */
const FOLLOWER_LOCAL_READS = mutated('follower-local-reads');

export function kvService(node: Node): KVServiceImplementation {
  const { sm, proposer, auth } = node;
  return {
    async range(request, ctx) {
      const req = servedRange(request);
      sm.validate({ range: req });
      if (!req.serializable && !(FOLLOWER_LOCAL_READS && !proposer.isLeader))
        await proposer.readIndex(ctx.signal);
      // Credentials are read once the read point is reached, as etcd does (doSerialize after
      // linearizableReadNotify): an auth change applied while waiting is checked, not refused
      // as "revision of auth store is old".
      const who = await auth.infoOf(ctx.metadata);
      if (sm.auth.enabled) checkRangeAuth(sm.auth, who, req);
      const resp = sm.range(req);
      node.header(resp.header);
      return resp;
    },

    async put(req, ctx) {
      sm.validate({ put: req });
      await node.checkQuota({ put: req }, ctx.signal);
      const resp = await proposer.propose({ put: req }, ctx.signal, await auth.proposal(ctx.metadata));
      node.header(resp.header);
      return resp;
    },

    async deleteRange(req, ctx) {
      sm.validate({ deleteRange: req });
      const resp = await proposer.propose(
        { deleteRange: req },
        ctx.signal,
        await auth.proposal(ctx.metadata),
      );
      node.header(resp.header);
      return resp;
    },

    async txn(request, ctx) {
      const readOnly = isReadOnlyTxn(request);
      const req = servedAsDecoded(request) ? servedTxn(request) : remarshaledTxn(request);
      sm.validate({ txn: req });
      if (readOnly) {
        if (!serializableTxn(req)) await proposer.readIndex(ctx.signal);
        const who = await auth.infoOf(ctx.metadata);
        checkTxnAuth(sm.auth, sm.lessor, who, req);
        const resp = sm.txn(req);
        node.header(resp.header);
        return resp;
      }
      await node.checkQuota({ txn: req }, ctx.signal);
      const resp = await proposer.propose({ txn: req }, ctx.signal, await auth.proposal(ctx.metadata));
      node.header(resp.header);
      return resp;
    },

    async compact(req, ctx) {
      const resp = await proposer.propose({ compaction: req }, ctx.signal, await auth.proposal(ctx.metadata));
      node.header(resp.header);
      return resp;
    },
  };
}
