/**
 * etcd's Cluster service calls on a member: add, remove, promote and update members, each a
 * conf change (or a member update) proposed through Raft, with etcd's checks and errors first.
 */
import {
  LearnerNotReadyError,
  MemberExistsError,
  MemberNotFoundError,
  MemberNotLearnerError,
  PeerUrlExistsError,
} from '../errors.js';
import type { RaftProposer } from '../raft/raft-proposer.js';
import { memberIdOf, type ServeConfig } from './config.js';

/** The member whose cluster changes (Node). */
export interface ChangingMember {
  readonly proposer: RaftProposer;
  readonly memberId: bigint;
  readonly config: Pick<ServeConfig, 'initialClusterToken'>;
}

export class MemberChanges {
  readonly #m: ChangingMember;

  constructor(member: ChangingMember) {
    this.#m = member;
  }

  /** etcd's MemberAdd: the new member's ID derives from its peer URLs and the cluster token. */
  async add(peerUrls: string[], isLearner: boolean, signal?: AbortSignal) {
    const p = this.#m.proposer;
    const urls = peerUrls.map((u) => urlOf(u));
    for (const m of p.membership.members.values())
      if (m.peerUrls.some((u) => urls.includes(u))) throw new PeerUrlExistsError();
    // etcd salts a new member's ID with the time, so a peer URL removed and added again gets a
    // new ID (a removed ID never comes back).
    const id = memberIdOf(urls, `${this.#m.config.initialClusterToken}/${Date.now()}`);
    if (p.membership.members.has(id) || p.membership.removed.has(id)) throw new MemberExistsError();
    const members = await p.proposeConfChange(
      isLearner ? 'addLearnerNode' : 'addNode',
      id,
      { name: '', peerUrls: urls },
      signal,
    );
    return { id, members };
  }

  /**
   * Removing the leader hands leadership over first, so the cluster does not sit out an election
   * timeout with the removal committed but not yet known to the others. Only the leader can do
   * that: undefined means "ask the leader".
   */
  async remove(id: bigint, signal?: AbortSignal) {
    const p = this.#m.proposer;
    if (!p.membership.members.has(id)) throw new MemberNotFoundError();
    if (id === p.leader && id !== this.#m.memberId) return undefined;
    if (id === this.#m.memberId && p.isLeader) await p.transferLeadership();
    return p.proposeConfChange('removeNode', id, undefined, signal);
  }

  /** Promotion needs the leader's view of the learner's log: undefined means "ask the leader". */
  async promote(id: bigint, signal?: AbortSignal) {
    const p = this.#m.proposer;
    const m = p.membership.members.get(id);
    if (!m) throw new MemberNotFoundError();
    if (!m.isLearner) throw new MemberNotLearnerError();
    if (!p.isLeader) return undefined;
    if (!p.learnerReady(id)) throw new LearnerNotReadyError();
    return p.proposeConfChange('addNode', id, undefined, signal);
  }

  async update(id: bigint, peerUrls: string[], signal?: AbortSignal) {
    const p = this.#m.proposer;
    if (!p.membership.members.has(id)) throw new MemberNotFoundError();
    await p.updateMember(
      id,
      peerUrls.map((u) => urlOf(u)),
      signal,
    );
    return p.membership.list();
  }
}

/** `http://h:p/` → `http://h:p` (member URLs are compared in this form). */
function urlOf(u: string): string {
  const x = new URL(u);
  return `${x.protocol}//${x.host}`;
}
