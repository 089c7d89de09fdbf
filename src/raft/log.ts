/**
 * The Raft log as the core sees it: stable entries in Storage followed by unstable ones.
 *
 * Invariants: applied <= committed <= lastIndex(); firstIndex()-1 <= applied once a snapshot is
 * installed; committed never decreases (it is persisted in the hard state).
 */
import { CompactedError, UnavailableError } from './errors.js';
import { Unstable } from './log-unstable.js';
import { limitSize, type Storage } from './storage.js';
import type { Entry, Snapshot } from './types.js';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index handed to the host for application (acknowledged by advance()). */
  applied: number;
  /** Max bytes of committed entries in one Ready. */
  readonly maxApplyingSize: number;

  constructor(storage: Storage, maxApplyingSize: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // The snapshot's index is both committed and applied (the state machine restores it).
    this.committed = first - 1;
    this.applied = first - 1;
    this.maxApplyingSize = maxApplyingSize;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The last index that is durable (the leader counts itself in a quorum only up to here). */
  lastStableIndex(): number {
    if (this.unstable.snapshot) return 0;
    if (this.unstable.entries.length > 0) return Math.min(this.unstable.offset - 1, this.storage.lastIndex());
    return this.storage.lastIndex();
  }

  /** The term at i, or undefined when i is compacted or past the end. */
  term(i: number): number | undefined {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    // The term of firstIndex()-1 (the snapshot point) stays available for matching.
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return undefined;
      throw e;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  matchTerm(i: number, t: number): boolean {
    const got = this.term(i);
    return got !== undefined && got === t;
  }

  /** §5.4.1: is a candidate's log (lasti, term) at least as up to date as ours? */
  isUpToDate(lasti: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lasti >= this.lastIndex());
  }

  /**
   * The follower side of AppendEntries (§5.3): if our entry at `index` has `logTerm`, append
   * `ents` (dropping a conflicting suffix) and advance commit. Returns the last new index, or
   * undefined on mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastnewi = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastnewi));
    return lastnewi;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new Error(`after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry whose term differs from ours (or that we lack); 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * Fast back-off: the largest index <= `index` whose term is <= `term`, with that term. A leader
   * uses it to skip a whole conflicting term per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const ourTerm = this.term(index);
      if (ourTerm === undefined) return [index, 0];
      if (ourTerm <= term) return [index, ourTerm];
    }
    return [0, 0];
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet applied (none while a snapshot awaits installation). */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    const hi = this.committed + 1;
    if (hi <= lo) return [];
    return this.slice(lo, hi, this.maxApplyingSize);
  }

  hasNextCommittedEntries(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(tocommit: number): void {
    // Never decrease commit (a stale leader's message may carry a smaller one).
    if (this.committed < tocommit) {
      if (this.lastIndex() < tocommit) {
        throw new Error(`tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]`);
      }
      this.committed = tocommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (this.committed < i || i < this.applied) {
      throw new Error(
        `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
      );
    }
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
    if (i > this.applied) this.applied = i;
  }

  /**
   * §5.4.2, the current-term commit rule: an index is committed by counting replicas only if
   * its entry is from the leader's current term; earlier entries commit along with it.
   */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /**
   * Entries in [lo, hi) limited to maxSize bytes (at least one).
   * @throws CompactedError if lo is behind firstIndex().
   */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new UnavailableError();
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const uOff = this.unstable.offset;
    if (lo < uOff) {
      ents = this.storage.entries(lo, Math.min(hi, uOff), maxSize);
      // Storage returned fewer than asked: the size limit is reached.
      if (ents.length < Math.min(hi, uOff) - lo) return ents;
    }
    if (hi > uOff) {
      const u = this.unstable.slice(Math.max(lo, uOff), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSize);
  }

  /** Entries from i to the end, limited to maxSize bytes. */
  entries(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }
}
