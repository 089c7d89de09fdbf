/**
 * The simulator must catch a deliberately broken core. The injected bug is the classic one of
 * Figure 8: a leader commits any index stored on a majority, whatever its term, instead of
 * only entries of its current term (§5.4.2).
 */
import { type RaftConfig, RawNode } from '../../src/raft/index.js';
import { runFigure8 } from './figure8.js';
import { InvariantViolation } from './invariants.js';

/** A RawNode whose leader commits by counting replicas (no current-term check). */
export function brokenCommitRule(config: RaftConfig): RawNode {
  const rn = new RawNode(config);
  const r = rn.raft;
  r.maybeCommit = () => {
    const mci = Math.min(r.trk.committed(), r.raftLog.lastIndex());
    if (mci <= r.raftLog.committed) return false;
    r.raftLog.commitTo(mci);
    return true;
  };
  return rn;
}

describe('a broken commit rule', () => {
  test('is caught by the invariants in the Figure 8 schedule', () => {
    let caught: unknown;
    try {
      runFigure8(brokenCommitRule);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvariantViolation);
    expect((caught as InvariantViolation).invariant).toMatch(/leader completeness|state machine safety/);
  });

  test('the same schedule with the correct rule passes (the test is about the rule, not the script)', () => {
    expect(() => runFigure8()).not.toThrow();
  });
});
