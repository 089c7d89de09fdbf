/**
 * flagd-testbed's fractional flags, as flagd users have them on disk: evaluator/flags/
 * testkit-flags.json of open-feature/flagd-testbed at df6a843 (from line 223), the flags whose
 * fractional Concord expresses, copied. Shared by the unit vectors (test/unit/flags-fractional)
 * and the import-through-the-cluster test (test/recipes/flags-fractional).
 */
const suits = { clubs: 'clubs', diamonds: 'diamonds', hearts: 'hearts', spades: 'spades', wild: 'wild' };
const suitWeights = [
  ['clubs', 25],
  ['diamonds', 25],
  ['hearts', 25],
  ['spades', 25],
];
export const TESTBED: Record<string, object> = {
  'fractional-flag': {
    state: 'ENABLED',
    variants: suits,
    defaultVariant: 'wild',
    targeting: { fractional: [{ cat: [{ var: '$flagd.flagKey' }, { var: 'user.name' }] }, ...suitWeights] },
  },
  'fractional-flag-shorthand': {
    state: 'ENABLED',
    variants: { heads: 'heads', tails: 'tails', draw: 'draw' },
    defaultVariant: 'draw',
    targeting: { fractional: [['heads'], ['tails', 1]] },
  },
  'fractional-flag-A-shared-seed': {
    state: 'ENABLED',
    variants: suits,
    defaultVariant: 'wild',
    targeting: { fractional: [{ cat: ['shared-seed', { var: 'user.name' }] }, ...suitWeights] },
  },
  'fractional-hash-edge-flag': {
    state: 'ENABLED',
    variants: { lower: 'lower', upper: 'upper' },
    defaultVariant: 'lower',
    targeting: {
      fractional: [{ var: 'targetingKey' }, ['lower', 50], ['upper', 50]],
    },
  },
  'fractional-single-entry-flag': {
    state: 'ENABLED',
    variants: { single: 'single', fallback: 'fallback' },
    defaultVariant: 'fallback',
    targeting: { fractional: [['single', 1]] },
  },
  'fractional-null-bucket-key-flag': {
    state: 'ENABLED',
    variants: { one: 'one', two: 'two', fallback: 'fallback' },
    defaultVariant: 'fallback',
    targeting: {
      fractional: [{ var: 'missing_key' }, ['one', 50], ['two', 50]],
    },
  },
  'fractional-zero-weights-flag': {
    state: 'ENABLED',
    variants: { one: 'one', two: 'two', fallback: 'fallback' },
    defaultVariant: 'fallback',
    targeting: {
      fractional: [{ var: 'targetingKey' }, ['one', 0], ['two', 0]],
    },
  },
  'fractional-negative-weight-flag': {
    state: 'ENABLED',
    variants: { one: 'one', two: 'two', fallback: 'fallback' },
    defaultVariant: 'fallback',
    targeting: {
      fractional: [{ var: 'targetingKey' }, ['one', -50], ['two', 100]],
    },
  },
};
