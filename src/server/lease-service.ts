/**
 * The Lease service. Grant and revoke are writes (through Raft); keepalives and time-to-live
 * are answered by the leader, which runs the lease clocks (a follower forwards them). A
 * keepalive for an unknown or expired lease answers TTL 0, as etcd does.
 */
import type { LeaseKeepAliveResponse, LeaseServiceImplementation } from '../gen/etcdserverpb/rpc.js';
import { AsyncQueue } from './async-queue.js';
import type { Node } from './node.js';

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
      const resp = await proposer.propose({ leaseRevoke: req }, ctx.signal);
      node.header(resp.header);
      return resp;
    },

    leaseKeepAlive(requests, ctx) {
      const out = new AsyncQueue<LeaseKeepAliveResponse>();
      const onAbort = () => out.close();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      node.streams.add(onAbort);
      (async () => {
        for await (const r of requests) out.push(await keepAliveOnce(r.ID, ctx.signal));
      })()
        .catch(() => {})
        .finally(() => {
          ctx.signal.removeEventListener('abort', onAbort);
          node.streams.delete(onAbort);
          out.close();
        });
      return out;
    },

    async leaseTimeToLive(req, ctx) {
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
