/**
 * The rollout bucket is computed in pure JS (so that flags evaluate in browsers) and must put
 * every (flag, targeting key) where the node:crypto version did: a moved bucket would flip
 * users in and out of running rollouts on upgrade.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { rolloutBucket } from '../../recipes/flags-evaluation.js';

/** The implementation before the switch, verbatim. */
function nodeBucket(name: string, targetingKey: string): number {
  const h = createHash('sha256').update(name).update('\0').update(targetingKey).digest();
  return (h.readUInt32BE(0) / 2 ** 32) * 100;
}

test.each([
  ['rollout10', 'user-1'],
  ['new-checkout', ''],
  ['', 'k'],
  ['émoji-🚀', 'ユーザー'],
  ['lone-surrogate-\ud800', 'x\udc00y'],
  ['nul\0inside', 'key\0'],
])('bucket(%j, %j) is the node:crypto one', (name, key) => {
  expect(rolloutBucket(name, key)).toBe(nodeBucket(name, key));
});

test('10,000 generated (flag, key) pairs, any Unicode, land in the same bucket as with node:crypto', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (name, key) => {
      expect(rolloutBucket(name, key)).toBe(nodeBucket(name, key));
    }),
    { numRuns: 10_000 },
  );
});

test('buckets are in [0, 100)', () => {
  for (let i = 0; i < 1000; i++) {
    const b = rolloutBucket('f', `k${i}`);
    expect(b >= 0 && b < 100).toBe(true);
  }
});
