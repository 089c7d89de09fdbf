/**
 * Flag evaluation, table-driven: conditions (all/any/not, numbers, semver with SemVer 2.0
 * prerelease precedence, strings), named variants, weighted splits and the reason each reports.
 */

import { type FlagCondition, type FlagDefinition, rolloutBucket } from '../../recipes/flags.js';
import { compileDefinition, resolve, splitVariant } from '../../recipes/flags-evaluation.js';
import { COLORS, VALID } from './flags-fixtures.js';

function compiled(def: FlagDefinition) {
  const c = compileDefinition(def);
  if (!c.ok) throw new Error(c.error);
  return c.flag;
}
/** Whether `cond` holds in `ctx`: a boolean flag that serves true when it does. */
const holds = (cond: FlagCondition, ctx: Record<string, unknown>) =>
  resolve('f', compiled({ type: 'boolean', value: false, rules: [{ ...cond, serve: true }] }), ctx).value;

const fr: FlagCondition = { attribute: 'country', op: 'eq', value: 'FR' };
const adult: FlagCondition = { attribute: 'age', op: 'gte', value: 18 };
const pro: FlagCondition = { attribute: 'account.plan', op: 'in', value: ['pro', 'team'] };

test.each<[string, FlagCondition, Record<string, unknown>, boolean]>([
  ['all: every one holds', { all: [fr, adult] }, { country: 'FR', age: 18 }, true],
  ['all: one fails', { all: [fr, adult] }, { country: 'FR', age: 17 }, false],
  ['all: one absent', { all: [fr, adult] }, { country: 'FR' }, false],
  ['any: one holds', { any: [fr, adult] }, { country: 'US', age: 30 }, true],
  ['any: none holds', { any: [fr, adult] }, { country: 'US', age: 3 }, false],
  ['not: inverts', { not: fr }, { country: 'US' }, true],
  ['not: of an absent attribute holds', { not: fr }, {}, true],
  [
    'nested: all of (any, not)',
    { all: [{ any: [fr, pro] }, { not: adult }] },
    { account: { plan: 'team' }, age: 9 },
    true,
  ],
  [
    'nested: all of (any, not), not fails',
    { all: [{ any: [fr, pro] }, { not: adult }] },
    { country: 'FR', age: 40 },
    false,
  ],
  ['lt', { attribute: 'n', op: 'lt', value: 2 }, { n: 1.5 }, true],
  ['lt at the bound', { attribute: 'n', op: 'lt', value: 2 }, { n: 2 }, false],
  ['lte at the bound', { attribute: 'n', op: 'lte', value: 2 }, { n: 2 }, true],
  ['gt', { attribute: 'n', op: 'gt', value: -1 }, { n: 0 }, true],
  ['gt, a numeric string is no number', { attribute: 'n', op: 'gt', value: -1 }, { n: '0' }, false],
  ['gte, a Date as epoch ms', { attribute: 'd', op: 'gte', value: 1000 }, { d: new Date(1000) }, true],
  ['in', { attribute: 's', op: 'in', value: ['a', 'b'] }, { s: 'b' }, true],
  ['startsWith', { attribute: 's', op: 'startsWith', value: 'ab' }, { s: 'abc' }, true],
  ['endsWith', { attribute: 's', op: 'endsWith', value: 'bc' }, { s: 'abc' }, true],
  ['matches', { attribute: 's', op: 'matches', value: '^a.c$' }, { s: 'abc' }, true],
  ['matches, not a string', { attribute: 's', op: 'matches', value: '1' }, { s: 1 }, false],
])('%s', (_name, cond, ctx, want) => {
  expect(holds(cond, ctx)).toBe(want);
});

// SemVer 2.0 §11's own example order, then more.
const ORDER = [
  '1.0.0-alpha',
  '1.0.0-alpha.1',
  '1.0.0-alpha.beta',
  '1.0.0-beta',
  '1.0.0-beta.2',
  '1.0.0-beta.11',
  '1.0.0-rc.1',
  '1.0.0',
  '1.0.1',
  '1.2.0',
  '1.10.0',
  '2.0.0',
];

test.each(ORDER.slice(1).map((v, i) => [ORDER[i]!, v]))('semver: %s < %s, by every operator', (lo, hi) => {
  const cond = (op: string, value: string) => ({ attribute: 'v', op, value }) as FlagCondition;
  expect(holds(cond('semverLt', hi), { v: lo })).toBe(true);
  expect(holds(cond('semverLte', hi), { v: lo })).toBe(true);
  expect(holds(cond('semverGt', hi), { v: lo })).toBe(false);
  expect(holds(cond('semverGte', hi), { v: lo })).toBe(false);
  expect(holds(cond('semverGt', lo), { v: hi })).toBe(true);
  expect(holds(cond('semverEq', lo), { v: hi })).toBe(false);
  expect(holds(cond('semverNeq', lo), { v: hi })).toBe(true);
});

test.each<[string, string, string, boolean]>([
  ['build metadata is ignored', '1.0.0+build.5', 'semverEq', true],
  ['a leading v', 'v1.0.0', 'semverEq', true],
  ['a leading V', 'V1.0.0', 'semverEq', true],
  ['not a version: no match', '1.0', 'semverLte', false],
  ['not a version: no match, even for semverNeq', 'banana', 'semverNeq', false],
  ['a leading zero is no version', '01.0.0', 'semverLte', false],
])('semver against 1.0.0: %s', (_name, v, op, want) => {
  expect(holds({ attribute: 'v', op, value: '1.0.0' } as FlagCondition, { v })).toBe(want);
});

/** A boolean flag with variants on/off and `more`. */
const onOff = (more: Partial<FlagDefinition<boolean>>): FlagDefinition<boolean> => ({
  type: 'boolean',
  variants: { on: true, off: false },
  ...more,
});

test.each<[string, FlagDefinition, Record<string, unknown>, unknown]>([
  [
    'a rule naming a variant',
    COLORS,
    { staff: true },
    { value: '#f00', variant: 'red', reason: 'TARGETING_MATCH' },
  ],
  [
    'a rule serving a value',
    COLORS,
    { old: true },
    { value: '#000', variant: 'rules[2]', reason: 'TARGETING_MATCH' },
  ],
  ['no rule: the default variant', COLORS, {}, { value: '#00f', variant: 'blue', reason: 'DEFAULT' }],
  [
    'a rule split without a targeting key: its first variant',
    COLORS,
    { beta: true },
    { value: '#f00', variant: 'red', reason: 'TARGETING_MATCH' },
  ],
  [
    'a default variant alone is STATIC',
    { type: 'number', variants: { one: 1 }, defaultVariant: 'one' },
    {},
    { value: 1, variant: 'one', reason: 'STATIC' },
  ],
  [
    'a default split without a targeting key: its first variant, DEFAULT',
    onOff({ split: { off: 90, on: 10 } }),
    {},
    { value: false, variant: 'off', reason: 'DEFAULT' },
  ],
  [
    'outside a rollout: the default variant, SPLIT',
    onOff({ defaultVariant: 'off', rollout: { percentage: 0, serve: true } }),
    { targetingKey: 'k' },
    { value: false, variant: 'off', reason: 'SPLIT' },
  ],
  [
    'a rollout without a targeting key: the default variant, DEFAULT',
    onOff({ defaultVariant: 'off', rollout: { percentage: 100, serve: true } }),
    {},
    { value: false, variant: 'off', reason: 'DEFAULT' },
  ],
])('variants: %s', (_name, def, ctx, want) => {
  expect(resolve('f', compiled(def), ctx)).toEqual(want);
});

test('a three-way split: shares within 1.5 points of 50/30/20 over 10,000 keys, each key where its bucket says', () => {
  const def: FlagDefinition<string> = {
    type: 'string',
    variants: { a: 'A', b: 'B', c: 'C' },
    split: { a: 50, b: 30, c: 20 },
  };
  const f = compiled(def);
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  for (let i = 0; i < 10_000; i++) {
    const key = `user-${i}`;
    const r = resolve('three', f, { targetingKey: key });
    const b = rolloutBucket('three', key);
    const want = b < 50 ? 'a' : b < 80 ? 'b' : 'c';
    expect(r).toEqual({ value: want.toUpperCase(), variant: want, reason: 'SPLIT' });
    counts[r.variant]!++;
  }
  expect(Math.abs(counts.a! - 5000)).toBeLessThan(150);
  expect(Math.abs(counts.b! - 3000)).toBeLessThan(150);
  expect(Math.abs(counts.c! - 2000)).toBeLessThan(150);
});

test.each<[Record<string, number>, number, string]>([
  [{ a: 50, b: 50 }, 0, 'a'],
  [{ a: 50, b: 50 }, 49.999, 'a'],
  [{ a: 50, b: 50 }, 50, 'b'],
  [{ a: 0, b: 100 }, 0, 'b'],
  [{ a: 33.3, b: 33.3, c: 33.4 }, 99.9999999, 'c'],
  [{ a: 99.99999999, b: 0 }, 99.999999999, 'a'],
])('splitVariant(%j, %d) is %s', (split, bucket, want) => {
  expect(splitVariant(split, bucket)).toBe(want);
});

test('the old format evaluates as before: rules first, then the rollout, then value', () => {
  const def = VALID.find(([n]) => n === 'old-style rules and a rollout')![1];
  const f = compiled(def);
  expect(resolve('t', f, { targetingKey: 'vip-1', age: 70 })).toMatchObject({
    value: 'vip',
    variant: 'rules[0]',
  });
  expect(resolve('t', f, { name: 'bot-7' })).toMatchObject({ value: 'bot', variant: 'rules[2]' });
  expect(resolve('t', f, { plan: 'x' })).toMatchObject({ value: 'x', variant: 'rules[4]' });
  expect(resolve('t', f, {})).toEqual({ value: 'old', variant: 'otherwise', reason: 'DEFAULT' });
  for (const key of ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8']) {
    const inside = rolloutBucket('t', key) < 12.5;
    expect(resolve('t', f, { targetingKey: key })).toEqual(
      inside
        ? { value: 'new', variant: 'rollout', reason: 'SPLIT' }
        : { value: 'old', variant: 'otherwise', reason: 'SPLIT' },
    );
  }
});
