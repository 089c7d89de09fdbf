/**
 * Membership changes from this member's side: proposing one (and a member's new peer URLs),
 * applying a committed one to the core, the member list, the peer links and the waiter, and
 * stopping once this member is out of the cluster, whether it applied its own removal or a peer
 * told it.
 */
import type { Logger } from '../../log.js';
import { type ConfChange, type NodeId, None, type RawNode } from '../../raft/index.js';
import { NoLeaderError, StoppedError } from '../errors.js';
import {
  applyMembershipChange,
  describeConfState,
  encodeConfChangeContext,
  type PeerLinks,
} from './conf-change.js';
import { encodeMemberUpdateEntry } from './internal-request.js';
import type { MemberRecord, Membership } from './membership.js';
import type { ProposalQueue } from './proposal-queue.js';
import { abortable } from './proposal-waiters.js';

export interface MembershipChangeHost {
  readonly raw: RawNode;
  readonly membership: Membership;
  readonly memberId: bigint;
  readonly proposals: ProposalQueue;
  readonly peers: PeerLinks;
  readonly log: Logger;
  closed(): boolean;
  failed(): boolean;
  lead(): NodeId;
  /** Runs the loop soon (a proposal is waiting). */
  kick(): void;
  /** This member is out of the cluster (called once, on a later turn). */
  removed(): void;
}

export class MembershipChanges {
  readonly #host: MembershipChangeHost;
  #removed = false;

  constructor(host: MembershipChangeHost) {
    this.#host = host;
  }

  /**
   * A committed membership change: the core's configuration, the replicated member list, the
   * peer links, and the proposer's waiter. A member that applies its own removal stops.
   */
  apply(cc: ConfChange): void {
    const h = this.#host;
    const self = h.memberId;
    const confState = h.raw.applyConfChange(cc);
    const ctx = applyMembershipChange(h.membership, confState, cc, self, h.peers);
    if (ctx && ctx.prefix === h.proposals.prefix)
      h.proposals.waiters.settle(ctx.counter, h.membership.list(), undefined);
    h.log.info(`applied conf change ${cc.type} ${cc.nodeId.toString(16)}; ${describeConfState(confState)}`);
    if (cc.type === 'removeNode' && cc.nodeId === self && !this.#removed) {
      this.#removed = true;
      // Let this turn finish (the removal is applied and answered), then stop.
      setImmediate(() => h.removed());
    }
  }

  /** A peer refused our messages because this member was removed (we missed the entry). */
  removedByPeer(): void {
    const h = this.#host;
    if (this.#removed || h.closed()) return;
    this.#removed = true;
    h.log.warn('a peer says this member was removed from the cluster');
    // The removal this member proposed was applied elsewhere before it reached us: it is done.
    h.proposals.waiters.resolveWhere(
      (w) => w.removesSelf === true,
      () => h.membership.list().filter((m) => m.id !== h.memberId),
    );
    setImmediate(() => h.removed());
  }

  /** Proposes a change now (the caller made sure the leader applied an entry of its term). */
  propose(
    type: ConfChange['type'],
    nodeId: bigint,
    member: { name: string; peerUrls: string[] } | undefined,
    signal: AbortSignal | undefined,
  ): Promise<MemberRecord[]> {
    const h = this.#host;
    if (h.closed() || h.failed()) return Promise.reject(new StoppedError());
    if (h.lead() === None) return Promise.reject(new NoLeaderError());
    const q = h.proposals;
    const counter = q.next();
    const context = encodeConfChangeContext({ prefix: q.prefix, counter, member });
    const p = q.wait(counter, {
      keepOnLeaderChange: true,
      removesSelf: type === 'removeNode' && nodeId === h.memberId,
    });
    try {
      h.raw.proposeConfChange({ type, nodeId, context });
    } catch (err) {
      q.waiters.drop(counter);
      return Promise.reject(
        err instanceof Error && err.name === 'ProposalDroppedError' ? new NoLeaderError() : err,
      );
    }
    h.kick();
    return abortable(p, signal) as Promise<MemberRecord[]>;
  }

  /** Replicates a member's new peer URLs (MemberUpdate). */
  update(id: bigint, peerUrls: string[], signal?: AbortSignal): Promise<void> {
    const h = this.#host;
    if (h.closed() || h.failed()) return Promise.reject(new StoppedError());
    const q = h.proposals;
    const counter = q.next();
    const p = q.wait(counter);
    q.push(counter, encodeMemberUpdateEntry(q.prefix, counter, { id: id.toString(16), peerUrls }));
    h.kick();
    return abortable(p, signal) as Promise<void>;
  }

  /** Leader only: whether a learner's log is close enough to the leader's to be promoted (etcd: 90%). */
  learnerReady(id: bigint): boolean {
    const raw = this.#host.raw;
    const pr = raw.progress(id);
    const mine = raw.progress(this.#host.memberId);
    if (!pr || !mine) return false;
    return pr.match >= mine.match * 0.9;
  }
}
