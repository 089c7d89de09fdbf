/**
 * A joint configuration (§6 of the Raft thesis): two majority configurations that must both
 * agree. Outside a joint change the outgoing half is empty and decides nothing.
 */
import type { NodeId } from '../types.js';
import { type AckedIndexer, MajorityConfig, type VoteResult } from './majority.js';

export class JointConfig {
  readonly incoming: MajorityConfig;
  readonly outgoing: MajorityConfig;
  constructor(
    incoming: MajorityConfig = new MajorityConfig(),
    outgoing: MajorityConfig = new MajorityConfig(),
  ) {
    this.incoming = incoming;
    this.outgoing = outgoing;
  }

  ids(): Set<NodeId> {
    return new Set([...this.incoming.ids, ...this.outgoing.ids]);
  }

  isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  committedIndex(acked: AckedIndexer): number {
    return Math.min(this.incoming.committedIndex(acked), this.outgoing.committedIndex(acked));
  }

  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    if (r1 === 'lost' || r2 === 'lost') return 'lost';
    return 'pending';
  }
}
