/**
 * Table-driven tests of the core's data structures: MemoryStorage, the unstable log, RaftLog
 * (append/conflict rules of §5.3, the up-to-date rule of §5.4.1, the commit rule of §5.4.2),
 * quorums, inflights and progress.
 */
import {
  CompactedError,
  emptyConfState,
  Inflights,
  JointConfig,
  limitSize,
  MajorityConfig,
  MemoryStorage,
  Progress,
  RaftLog,
  type Snapshot,
  UnavailableError,
} from '../../src/raft/index.js';
import { ent } from './harness.js';

function storageWith(...terms: number[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => ent(i + 1, t)));
  return s;
}

describe('MemoryStorage', () => {
  test('term, entries and their typed errors around a compaction', () => {
    const s = storageWith(1, 1, 2, 3, 3);
    s.compact(2);
    expect(s.firstIndex()).toBe(3);
    expect(s.lastIndex()).toBe(5);
    expect(s.term(2)).toBe(1); // the dummy entry keeps the compacted term
    expect(() => s.term(1)).toThrow(CompactedError);
    expect(() => s.term(6)).toThrow(UnavailableError);
    expect(() => s.entries(2, 4, Infinity)).toThrow(CompactedError);
    expect(() => s.entries(3, 7, Infinity)).toThrow(UnavailableError);
    expect(s.entries(3, 6, Infinity).map((e) => e.term)).toEqual([2, 3, 3]);
    expect(() => s.compact(2)).toThrow(CompactedError);
  });

  test.each([
    // [append at, expected terms]
    [{ at: 6, terms: [4] }, [1, 1, 2, 3, 3, 4]],
    [{ at: 4, terms: [4, 4] }, [1, 1, 2, 4, 4]], // truncates the conflicting suffix
    [{ at: 1, terms: [5] }, [5]],
  ])('append %j', ({ at, terms }, want) => {
    const s = storageWith(1, 1, 2, 3, 3);
    s.append(terms.map((t, i) => ent(at + i, t)));
    expect(s.entries(1, s.lastIndex() + 1, Infinity).map((e) => e.term)).toEqual(want);
  });

  test('append works in place, yet entries read before it keep what they were', () => {
    const s = storageWith(1, 1, 2, 3, 3);
    const before = s.entries(1, 6, Infinity);
    const given = [ent(4, 4), ent(5, 4)];
    s.append(given);
    given.push(ent(6, 4)); // the caller's array is not the log
    expect(before.map((e) => e.term)).toEqual([1, 1, 2, 3, 3]);
    expect(s.lastIndex()).toBe(5);
    s.append([ent(6, 5)]);
    expect(s.entries(1, 7, Infinity).map((e) => e.term)).toEqual([1, 1, 2, 4, 4, 5]);
  });

  test('append beyond the end is refused (a gap)', () => {
    const s = storageWith(1, 1);
    expect(() => s.append([ent(4, 1)])).toThrow(/missing log entry/);
  });

  test('entries honour maxSize but return at least one entry', () => {
    const s = storageWith(1, 1, 1);
    expect(s.entries(1, 4, 0)).toHaveLength(1);
    expect(limitSize([ent(1, 1, 'x'), ent(2, 1, 'y')], 1000)).toHaveLength(2);
  });

  test('snapshots: create, apply, out of date', () => {
    const s = storageWith(1, 2, 3);
    const snap = s.createSnapshot(2, emptyConfState, new Uint8Array([7]));
    expect(snap.metadata).toMatchObject({ index: 2, term: 2 });
    expect(() => s.createSnapshot(1, emptyConfState, new Uint8Array())).toThrow(
      /older than the existing snapshot/,
    );
    const t = new MemoryStorage();
    t.applySnapshot(snap);
    expect(t.firstIndex()).toBe(3);
    expect(t.lastIndex()).toBe(2);
    expect(t.term(2)).toBe(2);
  });
});

describe('RaftLog', () => {
  const newLog = (...terms: number[]) => {
    const l = new RaftLog(new MemoryStorage(), Infinity);
    l.append(terms.map((t, i) => ent(i + 1, t)));
    return l;
  };

  test.each([
    // §5.3: the first entry whose term differs, or that we lack; 0 when all match.
    [[] as [number, number][], 0],
    [
      [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      0,
    ],
    [
      [
        [2, 2],
        [3, 3],
        [4, 4],
      ],
      4,
    ],
    [
      [
        [3, 3],
        [4, 4],
        [5, 4],
      ],
      4,
    ],
    [
      [
        [1, 4],
        [2, 4],
      ],
      1,
    ],
    [
      [
        [2, 1],
        [3, 4],
        [4, 4],
      ],
      2,
    ],
  ])('findConflict %j -> %d', (ents, want) => {
    const l = newLog(1, 2, 3);
    expect(l.findConflict(ents.map(([i, t]) => ent(i, t)))).toBe(want);
  });

  test.each([
    // log terms [2,2,2,4,4,5,5,5] at 1..8: largest index <= i with term <= t (fast back-off)
    [8, 5, 8, 5],
    [8, 4, 5, 4],
    [8, 3, 3, 2],
    [5, 4, 5, 4],
    [8, 1, 0, 0],
    [10, 5, 8, 5], // past the end: unknown, answered with index and term 0
  ])('findConflictByTerm(%d, %d) -> [%d, %d]', (index, term, wantIndex, wantTerm) => {
    const l = newLog(2, 2, 2, 4, 4, 5, 5, 5);
    const [i, t] = l.findConflictByTerm(Math.min(index, l.lastIndex()), term);
    expect([i, t]).toEqual([wantIndex, wantTerm]);
  });

  test.each([
    // §5.4.1 against our last entry (3, term 3): a higher last term wins; the same term needs
    // a log at least as long
    [3, 4, true],
    [2, 4, true],
    [4, 3, true],
    [3, 3, true],
    [2, 3, false],
    [4, 2, false],
    [3, 2, false],
  ])('isUpToDate(lastIndex=%d, term=%d) -> %s', (li, t, want) => {
    const l = newLog(1, 2, 3);
    expect(l.isUpToDate(li, t)).toBe(want);
  });

  test.each([
    // [index, logTerm, committed, entries, wantLastNew, wantCommit, wantTerms]
    [3, 3, 3, [] as [number, number][], 3, 3, [1, 2, 3]],
    [3, 3, 3, [[4, 4]], 4, 3, [1, 2, 3, 4]],
    [3, 3, 4, [[4, 4]], 4, 4, [1, 2, 3, 4]],
    [3, 3, 5, [[4, 4]], 4, 4, [1, 2, 3, 4]], // commit capped by the last new entry
    [2, 2, 3, [[3, 4]], 3, 3, [1, 2, 4]], // conflict: suffix replaced
    [3, 2, 3, [[4, 4]], undefined, 1, [1, 2, 3]], // mismatch at index 3
    [4, 4, 3, [[5, 4]], undefined, 1, [1, 2, 3]], // gap
  ])('maybeAppend(%d, %d, %d, %j)', (index, logTerm, committed, ents, wantLast, wantCommit, wantTerms) => {
    const l = newLog(1, 2, 3);
    l.commitTo(1);
    const got = l.maybeAppend(
      index,
      logTerm,
      committed,
      ents.map(([i, t]) => ent(i, t)),
    );
    expect(got).toBe(wantLast);
    expect(l.committed).toBe(wantCommit);
    expect(l.slice(1, l.lastIndex() + 1, Infinity).map((e) => e.term)).toEqual(wantTerms);
  });

  test('a conflict with a committed entry is a bug, not a truncation', () => {
    const l = newLog(1, 2, 3);
    l.commitTo(3);
    expect(() => l.maybeAppend(1, 1, 3, [ent(2, 5)])).toThrow(/conflict with committed entry/);
  });

  test.each([
    // §5.4.2: commit by counting replicas only for an entry of the current term
    [3, 3, true],
    [3, 2, false],
    [2, 2, true],
    [1, 3, false],
  ])('maybeCommit(%d, term %d)', (maxIndex, term, want) => {
    const l = newLog(1, 2, 3);
    expect(l.maybeCommit(maxIndex, term)).toBe(want);
  });

  test('commit never decreases', () => {
    const l = newLog(1, 1, 1);
    l.commitTo(3);
    l.commitTo(1);
    expect(l.committed).toBe(3);
  });

  test('unstable entries become stable only if they still match (stableTo after a rewrite)', () => {
    const l = newLog(1, 1);
    l.unstable.stableTo(2, 1);
    expect(l.unstableEntries()).toEqual([]);
    l.append([ent(3, 2)]);
    l.append([ent(3, 3)]); // rewritten before the host persisted (3, 2)
    l.stableTo(3, 2);
    expect(l.unstableEntries().map((e) => e.term)).toEqual([3]);
  });

  test('restore from a snapshot moves commit and the unstable offset', () => {
    const l = newLog(1, 1);
    const snap: Snapshot = {
      data: new Uint8Array(),
      metadata: { index: 10, term: 4, confState: emptyConfState },
    };
    l.restore(snap);
    expect(l.committed).toBe(10);
    expect(l.lastIndex()).toBe(10);
    expect(l.firstIndex()).toBe(11);
    expect(l.term(10)).toBe(4);
    expect(l.nextCommittedEntries()).toEqual([]); // nothing to apply until the snapshot is installed
    expect(() => l.slice(5, 6, Infinity)).toThrow(CompactedError);
  });
});

describe('quorum', () => {
  const acked = (m: Record<string, number>) => (id: bigint) => m[id.toString()];
  test.each([
    [[1, 2, 3], { 1: 5, 2: 4, 3: 3 }, 4],
    [[1, 2, 3], { 1: 5 }, 0],
    [[1, 2, 3, 4], { 1: 5, 2: 5, 3: 1, 4: 1 }, 1],
    [[1, 2, 3, 4, 5], { 1: 9, 2: 8, 3: 7, 4: 1, 5: 1 }, 7],
    [[1], { 1: 3 }, 3],
    [[], {}, Infinity],
  ])('majority committedIndex %j %j -> %d', (ids, m, want) => {
    expect(new MajorityConfig(ids.map(BigInt)).committedIndex(acked(m))).toBe(want);
  });

  test.each([
    [[1, 2, 3], { 1: true, 2: true }, 'won'],
    [[1, 2, 3], { 1: true }, 'pending'],
    [[1, 2, 3], { 1: true, 2: false, 3: false }, 'lost'],
    [[1, 2, 3, 4], { 1: true, 2: true }, 'pending'],
    [[1, 2, 3, 4], { 1: true, 2: false, 3: false }, 'lost'],
    [[], {}, 'won'],
  ])('majority voteResult %j %j -> %s', (ids, v, want) => {
    const votes = new Map(Object.entries(v).map(([k, b]) => [BigInt(k), b as boolean]));
    expect(new MajorityConfig(ids.map(BigInt)).voteResult(votes)).toBe(want);
  });

  test('joint: both halves must agree', () => {
    const j = new JointConfig(new MajorityConfig([1n, 2n, 3n]), new MajorityConfig([3n, 4n, 5n]));
    expect(j.committedIndex(acked({ 1: 9, 2: 9, 3: 2, 4: 1, 5: 1 }))).toBe(1);
    const votes = new Map<bigint, boolean>([
      [1n, true],
      [2n, true],
    ]);
    expect(j.voteResult(votes)).toBe('pending');
    votes.set(4n, false);
    votes.set(5n, false);
    expect(j.voteResult(votes)).toBe('lost');
  });
});

describe('flow control', () => {
  test('inflights: full by count or by bytes; freeLE releases up to an index', () => {
    const f = new Inflights(3, 100);
    f.add(1, 10);
    f.add(2, 10);
    expect(f.full()).toBe(false);
    f.add(3, 10);
    expect(f.full()).toBe(true); // count
    f.freeLE(2);
    expect(f.count).toBe(1);
    f.add(4, 90);
    expect(f.full()).toBe(true); // bytes
    f.freeLE(10);
    expect(f.count).toBe(0);
    expect(f.bytes).toBe(0);
  });

  const pr = (state: 'probe' | 'replicate' | 'snapshot', match: number, next: number) => {
    const p = new Progress({ match, next, maxInflight: 2, maxInflightBytes: 0, isLearner: false });
    if (state === 'replicate') {
      p.becomeReplicate();
      p.next = next;
    }
    if (state === 'snapshot') p.becomeSnapshot(next);
    return p;
  };

  test.each([
    // [state, match, next, rejected, hint, wantChanged, wantNext]
    ['replicate', 5, 10, 5, 5, false, 10], // stale: rejected <= match
    ['replicate', 5, 10, 9, 9, true, 6], // back to match + 1
    ['probe', 0, 10, 5, 5, false, 10], // stale: not next - 1
    ['probe', 0, 10, 9, 9, true, 9],
    ['probe', 0, 10, 9, 2, true, 3], // fast back-off: jump to hint + 1
    ['probe', 0, 10, 9, 0, true, 1],
  ] as const)(
    'maybeDecrTo in %s (match %d next %d, rejected %d hint %d)',
    (state, match, next, rej, hint, want, wantNext) => {
      const p = pr(state, match, next);
      expect(p.maybeDecrTo(rej, hint)).toBe(want);
      expect(p.next).toBe(wantNext);
    },
  );

  test('replicate pipelines until inflights are full; probe sends one message', () => {
    const p = pr('replicate', 0, 1);
    p.sentEntries(2, 20);
    expect(p.next).toBe(3);
    expect(p.isPaused()).toBe(false);
    p.sentEntries(2, 20);
    expect(p.isPaused()).toBe(true);
    const q = pr('probe', 0, 1);
    q.sentEntries(5, 50);
    expect(q.isPaused()).toBe(true);
    expect(q.next).toBe(1);
    expect(pr('snapshot', 0, 9).isPaused()).toBe(true);
  });

  test('leaving snapshot state resumes after the snapshot', () => {
    const p = pr('snapshot', 2, 20);
    p.becomeProbe();
    expect(p.next).toBe(21);
  });
});
