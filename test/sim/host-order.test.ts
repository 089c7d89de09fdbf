/**
 * The simulator runs production's Ready step (src/server/raft/ready-step.ts), so a bug planted
 * in production's persist order is a bug its seeds must catch. The mutation
 * `follower-ack-before-persist` lets a follower send its append acknowledgements (and votes)
 * before its write is synced; a crash then loses entries the leader counted toward a quorum,
 * and the durability invariant fails: the leader tells the restarted follower a commit index
 * past the log it has left. During development the mutation failed 12 of the seeds 1-40 and
 * 127 of the seeds 0-399, all this way; the production order passes them all.
 */
import { runSeed } from './run.js';

const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);

describe('follower-ack-before-persist, planted in the production step', () => {
  test('is caught by the seeds; the production order passes the same seeds', () => {
    const caught = SEEDS.map((seed) => runSeed(seed, { ackBeforePersist: true })).filter((r) => !r.ok);
    expect(caught.length).toBeGreaterThanOrEqual(5);
    for (const r of caught) {
      expect(r.failure).toBe('invariant');
      expect(r.message).toMatch(/^durability: a member lost entries it acknowledged/);
    }
    expect(SEEDS.filter((seed) => !runSeed(seed).ok)).toEqual([]);
  });
});
