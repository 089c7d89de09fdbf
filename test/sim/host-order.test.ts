/**
 * The simulator runs production's Ready step (src/server/raft/ready-step.ts), so a bug planted
 * in production's persist order is a bug its seeds must catch. The mutation
 * `follower-ack-before-persist` lets a follower send its append acknowledgements (and votes)
 * before its write is synced; a crash then loses entries the leader counted toward a quorum.
 * The seeds see it two ways: the follower's core refuses a commit index past the log it has
 * left (etcd's "tocommit(N) is out of range [lastIndex(M)]": its log lost acknowledged
 * entries), or a leader is elected without an entry another member already applied. During
 * development the mutation failed 13 of the seeds 1-40 and 95 of the seeds 0-299.
 */
import { runSeed } from './run.js';

const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);
const LOST_LOG = /tocommit\(\d+\) is out of range \[lastIndex\(\d+\)\]/;

describe('follower-ack-before-persist, planted in the production step', () => {
  test('is caught by the seeds; the production order passes the same seeds', () => {
    const caught = SEEDS.map((seed) => runSeed(seed, { ackBeforePersist: true })).filter((r) => !r.ok);
    for (const r of caught) {
      if (r.failure === 'invariant') continue;
      expect(r.failure).toBe('crash');
      expect(r.message).toMatch(LOST_LOG);
    }
    expect(caught.length).toBeGreaterThanOrEqual(5);
    expect(SEEDS.filter((seed) => !runSeed(seed).ok)).toEqual([]);
  });

  test('seed 49: a leader is elected without an entry another member applied', () => {
    const r = runSeed(49, { ackBeforePersist: true });
    expect(r.failure).toBe('invariant');
    expect(r.message).toMatch(/^leader completeness/);
    expect(runSeed(49).ok).toBe(true);
  });
});
