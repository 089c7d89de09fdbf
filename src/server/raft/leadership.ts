/**
 * Who leads, as this member's core last said (a Ready's SoftState): tracked, logged the way
 * etcd's raft logs it, counted in the metrics, and each change handed to the host, which moves
 * leases, waiters and reads along with it; and whom to hand leadership to.
 */
import type { Logger } from '../../log.js';
import { type NodeId, None, type SoftState } from '../../raft/index.js';
import type { ServerMetrics } from '../metrics.js';

export interface LeadershipHost {
  readonly memberId: bigint;
  readonly log: Logger;
  readonly metrics: ServerMetrics | undefined;
  /** The core's current term (for the log lines). */
  term(): number;
  /** The leader is now `lead` (None: no leader known); it was `prevLead`. */
  leaderChanged(prevLead: NodeId, lead: NodeId): void;
  /** This member became leader (true) or stopped being it (false). */
  roleChanged(leader: boolean): void;
  /** A leader is known (called on every SoftState that names one). */
  leaderKnown(): void;
}

export class Leadership {
  readonly #host: LeadershipHost;
  #lead: NodeId = None;
  #isLeader = false;
  #role: SoftState['role'] = 'follower';

  constructor(host: LeadershipHost) {
    this.#host = host;
  }

  get lead(): NodeId {
    return this.#lead;
  }

  get isLeader(): boolean {
    return this.#isLeader;
  }

  onSoftState(ss: SoftState): void {
    const h = this.#host;
    const self = h.memberId.toString(16);
    const wasLeader = this.#isLeader;
    const prevLead = this.#lead;
    this.#lead = ss.lead;
    this.#isLeader = ss.role === 'leader';
    if (ss.lead !== prevLead) {
      if (ss.lead !== None) h.metrics?.leaderChanges.inc();
      const term = h.term();
      if (ss.lead === None)
        h.log.info(`${self} lost its leader`, { term, 'lost-leader': prevLead.toString(16) });
      else
        h.log.info(`${self} sees leader ${ss.lead.toString(16)} at term ${term}`, {
          term,
          leader: ss.lead.toString(16),
        });
      h.leaderChanged(prevLead, ss.lead);
    }
    if (ss.role !== this.#role) {
      this.#role = ss.role;
      const term = h.term();
      // etcd's raft lines: "became pre-candidate/candidate/leader at term N".
      if (ss.role === 'preCandidate' || ss.role === 'candidate')
        h.log.info(
          `${self} started ${ss.role === 'preCandidate' ? 'a pre-vote' : 'an election'} at term ${term}`,
          { term, role: ss.role },
        );
      else if (ss.role === 'leader')
        h.log.info(`${self} became leader at term ${term}`, { term, role: ss.role });
    }
    if (this.#isLeader !== wasLeader) h.roleChanged(this.#isLeader);
    if (ss.lead !== None) h.leaderKnown();
  }
}

/** The voter (not `self`, not a learner) whose log matches the leader's furthest: a transferee. */
export function mostCaughtUpVoter(
  progresses: readonly { id: NodeId; match: number; isLearner: boolean }[],
  self: NodeId,
): NodeId {
  let best: NodeId = None;
  let bestMatch = -1;
  for (const pr of progresses) {
    if (pr.id === self || pr.isLearner) continue;
    if (pr.match > bestMatch) {
      best = pr.id;
      bestMatch = pr.match;
    }
  }
  return best;
}
