/**
 * A majority configuration: a set of voters where any majority decides.
 */
import type { NodeId } from '../types.js';

export type VoteResult = 'pending' | 'lost' | 'won';

/** Looks up the acknowledged (durable) index of a voter; undefined if it has none. */
export type AckedIndexer = (id: NodeId) => number | undefined;

export class MajorityConfig {
  readonly ids: ReadonlySet<NodeId>;
  constructor(ids: Iterable<NodeId> = []) {
    this.ids = new Set(ids);
  }

  get size(): number {
    return this.ids.size;
  }

  sorted(): NodeId[] {
    return [...this.ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * The largest index acknowledged by a majority: the q-th highest acked index, q = n/2+1.
   * An empty configuration commits everything (Infinity), so that a joint configuration with
   * an empty half is decided by the other half alone.
   */
  committedIndex(acked: AckedIndexer): number {
    const n = this.ids.size;
    if (n === 0) return Number.POSITIVE_INFINITY;
    const srt: number[] = [];
    for (const id of this.ids) srt.push(acked(id) ?? 0);
    srt.sort((a, b) => b - a);
    return srt[n >> 1]!;
  }

  /** Tallies votes: won with a majority of yes, lost once a majority is out of reach. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    if (this.ids.size === 0) return 'won';
    let yes = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = (this.ids.size >> 1) + 1;
    if (yes >= q) return 'won';
    if (yes + missing >= q) return 'pending';
    return 'lost';
  }
}
