/**
 * Safety invariants, checked as the simulation runs (after every Ready a node processes):
 * - Election Safety: at most one leader per term;
 * - Log Matching: two entries with the same index and term hold the same data and follow
 *   entries of the same term (checked inductively at append time);
 * - Leader Completeness: a new leader holds every entry any node has applied;
 * - State Machine Safety: every member applies the same entry at the same index;
 * - a member's persisted commit index never decreases.
 * A violation throws InvariantViolation, which the runner reports with the seed.
 */
import type { Entry, NodeId, RaftLog } from '../../src/raft/index.js';

export class InvariantViolation extends Error {
  readonly invariant: string;
  constructor(invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
    this.invariant = invariant;
  }
}

function sameData(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Invariants {
  readonly #leaders = new Map<number, NodeId>();
  /** "index:term" -> the entry seen with the term of its predecessor. */
  readonly #logs = new Map<string, { data: Uint8Array; prevTerm: number | undefined }>();
  /** index -> the entry applied there (by anyone). */
  readonly applied = new Map<number, Entry>();
  readonly #persistedCommit = new Map<NodeId, number>();
  checks = 0;

  /** Number of terms that had a leader. */
  get elections(): number {
    return this.#leaders.size;
  }

  onLeader(id: NodeId, term: number, log: RaftLog): void {
    this.checks++;
    const prev = this.#leaders.get(term);
    if (prev !== undefined && prev !== id) {
      throw new InvariantViolation('election safety', `term ${term} has two leaders: ${prev} and ${id}`);
    }
    this.#leaders.set(term, id);
    const first = log.firstIndex();
    const last = log.lastIndex();
    for (const [index, e] of this.applied) {
      if (index < first) continue; // covered by the leader's snapshot, checked when applied
      const t = index <= last ? log.term(index) : undefined;
      if (t !== e.term) {
        throw new InvariantViolation(
          'leader completeness',
          `leader ${id} of term ${term} lacks applied entry ${index} (term ${e.term}); has term ${t ?? 'none'}`,
        );
      }
    }
  }

  /** `termBefore(i)` gives the appending node's term at i (before the appended entries). */
  onAppend(id: NodeId, entries: readonly Entry[], termBefore: (i: number) => number | undefined): void {
    this.checks++;
    let prevTerm = termBefore(entries[0]!.index - 1);
    for (const e of entries) {
      const k = `${e.index}:${e.term}`;
      const seen = this.#logs.get(k);
      if (seen === undefined) {
        this.#logs.set(k, { data: e.data, prevTerm });
      } else {
        if (!sameData(seen.data, e.data)) {
          throw new InvariantViolation(
            'log matching',
            `node ${id}: entry ${k} holds different data than elsewhere`,
          );
        }
        if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
          throw new InvariantViolation(
            'log matching',
            `node ${id}: entry ${k} follows term ${prevTerm} here and term ${seen.prevTerm} elsewhere`,
          );
        }
      }
      prevTerm = e.term;
    }
  }

  onApply(id: NodeId, e: Entry): void {
    this.checks++;
    const seen = this.applied.get(e.index);
    if (seen === undefined) {
      this.applied.set(e.index, e);
      return;
    }
    if (seen.term !== e.term || !sameData(seen.data, e.data)) {
      throw new InvariantViolation(
        'state machine safety',
        `node ${id} applied entry ${e.index} of term ${e.term}, another member applied term ${seen.term} there`,
      );
    }
  }

  /** A snapshot installed at (index, term) must agree with what was applied there. */
  onSnapshot(id: NodeId, index: number, term: number): void {
    const seen = this.applied.get(index);
    if (seen !== undefined && seen.term !== term) {
      throw new InvariantViolation(
        'state machine safety',
        `node ${id} installed a snapshot at ${index} of term ${term}, another member applied term ${seen.term} there`,
      );
    }
  }

  onPersistCommit(id: NodeId, commit: number): void {
    const prev = this.#persistedCommit.get(id) ?? 0;
    if (commit < prev) {
      throw new InvariantViolation(
        'commit monotonicity',
        `node ${id} persisted commit ${commit} after ${prev}`,
      );
    }
    this.#persistedCommit.set(id, commit);
  }
}
