/**
 * The leader's view of the configuration: who votes, who learns, and each member's Progress.
 * Also tallies votes during an election.
 */
import { JointConfig } from '../quorum/joint.js';
import type { VoteResult } from '../quorum/majority.js';
import type { ConfState, NodeId } from '../types.js';
import type { Progress } from './progress.js';

export interface TrackerConfig {
  readonly voters: JointConfig;
  /** Learners: replicated to, never counted. Disjoint from voters. */
  readonly learners: ReadonlySet<NodeId>;
  /** Learners-to-be that are still voters in the outgoing half of a joint configuration. */
  readonly learnersNext: ReadonlySet<NodeId>;
}

export function emptyConfig(): TrackerConfig {
  return { voters: new JointConfig(), learners: new Set(), learnersNext: new Set() };
}

export class ProgressTracker {
  config: TrackerConfig = emptyConfig();
  progress: Map<NodeId, Progress> = new Map();
  votes: Map<NodeId, boolean> = new Map();
  readonly maxInflight: number;
  readonly maxInflightBytes: number;

  constructor(maxInflight: number, maxInflightBytes: number) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  confState(): ConfState {
    const sort = (s: Iterable<NodeId>) => [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      voters: sort(this.config.voters.incoming.ids),
      votersOutgoing: sort(this.config.voters.outgoing.ids),
      learners: sort(this.config.learners),
      learnersNext: sort(this.config.learnersNext),
    };
  }

  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && !this.config.voters.isJoint();
  }

  /** The largest index acknowledged by a quorum of voters. */
  committed(): number {
    return this.config.voters.committedIndex((id) => this.progress.get(id)?.match);
  }

  /** Visits progress in id order, so message order is deterministic. */
  visit(f: (id: NodeId, pr: Progress) => void): void {
    const ids = [...this.progress.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const id of ids) f(id, this.progress.get(id)!);
  }

  /** Did a quorum of voters show recent activity? (CheckQuorum) */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) if (!pr.isLearner) votes.set(id, pr.recentActive);
    return this.config.voters.voteResult(votes) === 'won';
  }

  voterIds(): NodeId[] {
    return [...this.config.voters.ids()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  /** Records a vote (only the first one from each voter counts). */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }
}
