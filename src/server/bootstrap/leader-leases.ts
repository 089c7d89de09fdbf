/**
 * The lease calls only the leader answers — it alone runs the lease clocks: a keepalive renews
 * the lease there, TimeToLive reads it there. A follower forwards both to the leader over the
 * peer transport; the leader's peer service answers them with `peerRenew` / `peerTimeToLive`.
 */
import type { LeaseTimeToLiveResponse as PeerTtlResponse } from '../../gen/concord/raftpb.js';
import type {
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  ResponseHeader,
} from '../../gen/etcdserverpb/rpc.js';
import { LeaseNotFoundError, type StateMachine } from '../../mvcc/index.js';
import { NoLeaderError, NotPrimaryError, RequestTimeoutError } from '../errors.js';
import type { RaftProposer } from '../raft/raft-proposer.js';

/** How long a follower waits for the leader to answer a forwarded lease call. */
export const LEASE_FORWARD_TIMEOUT_MS = 3_000;

/** The member the calls are made on (Node). */
export interface LeaseMember {
  readonly proposer: RaftProposer;
  readonly sm: StateMachine;
  readonly clusterId: bigint;
  /** Completes a response header as the member fills it. */
  header(h: undefined, revision: number): ResponseHeader;
}

export class LeaderLeases {
  readonly #m: LeaseMember;

  constructor(member: LeaseMember) {
    this.#m = member;
  }

  /** A keepalive from a client: answered by the leader, forwarded to it from a follower. */
  async renew(id: bigint, signal?: AbortSignal): Promise<number> {
    if (this.#m.proposer.isLeader) return this.#renewLocal(id);
    const r = await this.#leaderClient().leaseRenew(
      { clusterId: this.#m.clusterId, id },
      { signal: forwardSignal(signal) },
    );
    return Number(r.ttl);
  }

  /** TimeToLive is the leader's to answer (only it runs the lease clocks). */
  async timeToLive(req: LeaseTimeToLiveRequest, signal?: AbortSignal): Promise<LeaseTimeToLiveResponse> {
    const p = this.#m.proposer;
    if (p.isLeader) {
      await p.readIndex(signal);
      return this.#m.sm.leaseTimeToLive(req, Date.now());
    }
    const r = await this.#leaderClient().leaseTimeToLive(
      { clusterId: this.#m.clusterId, id: req.ID, keys: req.keys },
      { signal: forwardSignal(signal) },
    );
    const header = this.#m.header(undefined, this.#m.sm.revision);
    if (!r.found) return { header, ID: req.ID, TTL: -1n, grantedTTL: 0n, keys: [] };
    return { header, ID: req.ID, TTL: r.ttl, grantedTTL: r.grantedTtl, keys: r.keys };
  }

  /** A keepalive a follower forwarded: only the leader may answer it. */
  async peerRenew(id: bigint): Promise<number> {
    if (!this.#m.proposer.isLeader) throw new NotPrimaryError();
    return this.#renewLocal(id);
  }

  /** A TimeToLive a follower forwarded: only the leader may answer it. */
  async peerTimeToLive(id: bigint, keys: boolean): Promise<PeerTtlResponse> {
    if (!this.#m.proposer.isLeader) throw new NotPrimaryError();
    const r = this.#m.sm.leaseTimeToLive({ ID: id, keys }, Date.now());
    return { found: r.TTL !== -1n, ttl: r.TTL, grantedTtl: r.grantedTTL, keys: r.keys };
  }

  /** A keepalive on the leader: the lease's TTL, or 0 if it is gone or expired. */
  #renewLocal(id: bigint): number {
    const now = Date.now();
    try {
      if (this.#m.sm.lessor.remaining(id, now) <= 0) return 0;
      const r = this.#m.sm.lessor.renew(id, now);
      // A stale checkpoint must not shorten the renewed lease after a leader change.
      if (r.clearCheckpoint)
        this.#m.proposer
          .propose({ leaseCheckpoint: { checkpoints: [{ ID: id, remainingTTL: 0n }] } })
          .catch(() => {});
      return r.ttl;
    } catch (err) {
      if (err instanceof LeaseNotFoundError) return 0;
      throw err;
    }
  }

  #leaderClient() {
    const lead = this.#m.proposer.leader;
    if (lead === 0n) throw new NoLeaderError();
    const c = this.#m.proposer.transport.client(lead);
    if (!c) throw new RequestTimeoutError();
    return c;
  }
}

function forwardSignal(signal: AbortSignal | undefined): AbortSignal {
  const t = AbortSignal.timeout(LEASE_FORWARD_TIMEOUT_MS);
  return signal ? AbortSignal.any([signal, t]) : t;
}
