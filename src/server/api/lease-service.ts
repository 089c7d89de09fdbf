/**
 * The Lease service. Grant and revoke are writes (through Raft); keepalives and time-to-live
 * are answered by the leader, which runs the lease clocks (a follower forwards them). A
 * keepalive for an unknown or expired lease answers TTL 0, as etcd does.
 */
import type { LeaseKeepAliveResponse, LeaseServiceImplementation } from '../../gen/etcdserverpb/rpc.js';
import { type AuthInfo, checkLeasePuts, checkLeaseReads } from '../../mvcc/index.js';
import { BatchQueue } from '../../transport/batch-queue.js';
import type { Node } from '../bootstrap/node.js';

export function leaseService(node: Node): LeaseServiceImplementation {
  const { sm, proposer } = node;

  async function keepAliveOnce(id: bigint, signal: AbortSignal): Promise<LeaseKeepAliveResponse> {
    const ttl = await node.leaseRenew(id, signal);
    return { header: node.header(undefined, sm.revision), ID: id, TTL: BigInt(ttl) };
  }

  return {
    async leaseGrant(req, ctx) {
      await node.checkQuota({ leaseGrant: req }, ctx.signal);
      const resp = await proposer.propose({ leaseGrant: req }, ctx.signal);
      node.header(resp.header);
      return resp;
    },

    async leaseRevoke(req, ctx) {
      // No local pre-check: a follower may not have applied the grant yet; the apply on every
      // member answers "lease not found" for a lease that is really gone.
      const resp = await proposer.propose(
        { leaseRevoke: req },
        ctx.signal,
        await node.auth.proposal(ctx.metadata),
      );
      node.header(resp.header);
      return resp;
    },

    leaseKeepAlive(requests, ctx) {
      // With auth on, keeping a lease alive keeps its keys alive: it needs what revoking it
      // needs (root, or write permission on every attached key; a lease with no keys is
      // anyone's). A keepalive that lost that permission (user deleted, role or permission
      // revoked) is answered TTL 0, as for a lease that is gone: the client stops keeping it,
      // and the lease expires when its TTL runs out. The stream's user is taken from its token
      // on first use and kept, as a watch keeps its creator.
      let who: AuthInfo | undefined;
      const permitted = async (id: bigint): Promise<boolean> => {
        if (who === undefined) who = await node.auth.infoOf(ctx.metadata).catch(() => undefined);
        const info = who && { username: who.username, revision: sm.auth.revision };
        try {
          checkLeasePuts(sm.auth, sm.lessor, info, id);
          return true;
        } catch {
          return false;
        }
      };
      const out = new BatchQueue<LeaseKeepAliveResponse>();
      const onAbort = () => out.close();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      node.streams.add(onAbort);
      const end = () => {
        ctx.signal.removeEventListener('abort', onAbort);
        node.streams.delete(onAbort);
        out.close();
      };
      (async () => {
        // Each keepalive is answered on its own: a follower forwards it to the leader, and one
        // slow round trip must not hold back the renewals of the other leases on this stream.
        // A keepalive that cannot be answered (no leader) ends the stream: the client fails over.
        for await (const r of requests)
          (node.auth.enabled
            ? permitted(r.ID).then((ok) =>
                ok
                  ? keepAliveOnce(r.ID, ctx.signal)
                  : { header: node.header(undefined, sm.revision), ID: r.ID, TTL: 0n },
              )
            : keepAliveOnce(r.ID, ctx.signal)
          ).then(
            (resp) => out.push(resp),
            () => end(),
          );
      })()
        .catch(() => {})
        .finally(end);
      return out;
    },

    async leaseTimeToLive(req, ctx) {
      // etcd 3.5: reading a lease's keys needs read permission on each (root reads all).
      if (node.auth.enabled) {
        const who = await node.auth.infoOf(ctx.metadata);
        try {
          sm.auth.isAdminPermitted(who);
        } catch {
          checkLeaseReads(sm.auth, sm.lessor, who, req.ID);
        }
      }
      const resp = await node.leaseTimeToLive(req, ctx.signal);
      node.header(resp.header);
      return resp;
    },

    async leaseLeases(_req, ctx) {
      await proposer.readIndex(ctx.signal);
      const resp = sm.leaseLeases();
      node.header(resp.header);
      return resp;
    },
  };
}
