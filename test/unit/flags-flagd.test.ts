/**
 * fromFlagd(): flagd flag definitions mapped to Concord ones, table-driven (each targeting
 * expression and what it becomes), evaluated to check the mapped flag serves what flagd would,
 * and what does not map reported with its reason.
 */

import { type FlagDefinition, fromFlagd } from '../../recipes/flags.js';
import { compileDefinition, resolve } from '../../recipes/flags-evaluation.js';

const variants = { red: '#f00', green: '#0f0', blue: '#00f' };
/** One flagd string flag with `targeting`, default blue. */
const flagd = (targeting: unknown, more: Record<string, unknown> = {}) => ({
  flags: { color: { state: 'ENABLED', variants, defaultVariant: 'blue', targeting, ...more } },
});
const mapped = (targeting: unknown) => {
  const { flags, issues } = fromFlagd(flagd(targeting));
  expect(issues.filter((i) => i.skipped)).toEqual([]);
  return flags.color!;
};
/** The variant the mapped flag serves in `ctx`. */
function served(def: FlagDefinition, ctx: Record<string, unknown>): string {
  const c = compileDefinition(def);
  if (!c.ok) throw new Error(c.error);
  return resolve('color', c.flag, ctx).variant;
}

const v = (name: string) => ({ var: name });

test.each<[string, unknown, [Record<string, unknown>, string][]]>([
  [
    '==',
    { if: [{ '==': [v('tier'), 'gold'] }, 'red'] },
    [
      [{ tier: 'gold' }, 'red'],
      [{ tier: 'x' }, 'blue'],
    ],
  ],
  [
    '=== reversed',
    { if: [{ '===': ['gold', v('tier')] }, 'red'] },
    [
      [{ tier: 'gold' }, 'red'],
      [{}, 'blue'],
    ],
  ],
  [
    '!=',
    { if: [{ '!=': [v('tier'), 'gold'] }, 'red', 'green'] },
    [
      [{ tier: 'x' }, 'red'],
      [{ tier: 'gold' }, 'green'],
    ],
  ],
  [
    'in a list',
    { if: [{ in: [v('country'), ['FR', 'BE']] }, 'red'] },
    [
      [{ country: 'BE' }, 'red'],
      [{ country: 'US' }, 'blue'],
    ],
  ],
  [
    'in a string (substring)',
    { if: [{ in: ['@corp.example', v('email')] }, 'red'] },
    [
      [{ email: 'a@corp.example' }, 'red'],
      [{ email: 'a@b.c' }, 'blue'],
    ],
  ],
  [
    'and / or / !',
    {
      if: [
        {
          and: [
            { '>=': [v('age'), 18] },
            { or: [{ '==': [v('c'), 'FR'] }, { '!': { '==': [v('plan'), 'free'] } }] },
          ],
        },
        'red',
      ],
    },
    [
      [{ age: 20, c: 'FR', plan: 'free' }, 'red'],
      [{ age: 20, c: 'US', plan: 'pro' }, 'red'],
      [{ age: 20, c: 'US', plan: 'free' }, 'blue'],
      [{ age: 9, c: 'FR' }, 'blue'],
    ],
  ],
  [
    '< reversed',
    { if: [{ '<': [10, v('n')] }, 'red'] },
    [
      [{ n: 11 }, 'red'],
      [{ n: 10 }, 'blue'],
    ],
  ],
  [
    '<= between',
    { if: [{ '<=': [1, v('n'), 3] }, 'red'] },
    [
      [{ n: 1 }, 'red'],
      [{ n: 3 }, 'red'],
      [{ n: 4 }, 'blue'],
    ],
  ],
  [
    '>',
    { if: [{ '>': [v('n'), 2] }, 'red'] },
    [
      [{ n: 3 }, 'red'],
      [{ n: 2 }, 'blue'],
    ],
  ],
  [
    'starts_with',
    { if: [{ starts_with: [v('id'), 'bot-'] }, 'red'] },
    [
      [{ id: 'bot-1' }, 'red'],
      [{ id: 'u' }, 'blue'],
    ],
  ],
  [
    'ends_with',
    { if: [{ ends_with: [v('id'), '-x'] }, 'red'] },
    [
      [{ id: 'a-x' }, 'red'],
      [{ id: 'a' }, 'blue'],
    ],
  ],
  [
    'sem_ver >= with a partial version',
    { if: [{ sem_ver: [v('app'), '>=', '1.2'] }, 'red'] },
    [
      [{ app: '1.2.0' }, 'red'],
      [{ app: 'v1.10.0' }, 'red'],
      [{ app: '1.2.0-rc.1' }, 'blue'],
      [{ app: '1.1.9' }, 'blue'],
    ],
  ],
  [
    'sem_ver ^ (same major)',
    { if: [{ sem_ver: [v('app'), '^', '2.3.0'] }, 'red'] },
    [
      [{ app: '2.0.0-alpha' }, 'red'],
      [{ app: '2.99.0' }, 'red'],
      [{ app: '3.0.0-rc.1' }, 'blue'],
      [{ app: '1.9.9' }, 'blue'],
    ],
  ],
  [
    'sem_ver ~ (same minor)',
    { if: [{ sem_ver: [v('app'), '~', 'v2.3.4'] }, 'red'] },
    [
      [{ app: '2.3.0' }, 'red'],
      [{ app: '2.3.9' }, 'red'],
      [{ app: '2.4.0' }, 'blue'],
    ],
  ],
  [
    'if / else-if / else, in order',
    { if: [{ '==': [v('a'), 1] }, 'red', { '==': [v('b'), 1] }, 'green', 'blue'] },
    [
      [{ a: 1, b: 1 }, 'red'],
      [{ b: 1 }, 'green'],
      [{}, 'blue'],
    ],
  ],
  [
    'a nested if: its else applies under its guard only',
    {
      if: [
        { '==': [v('a'), 1] },
        { if: [{ '==': [v('b'), 1] }, 'red', 'green'] },
        { '==': [v('c'), 1] },
        'red',
      ],
    },
    [
      [{ a: 1, b: 1 }, 'red'],
      [{ a: 1, c: 1 }, 'green'],
      [{ c: 1 }, 'red'],
      [{}, 'blue'],
    ],
  ],
  [
    'null serves the default variant',
    { if: [{ '==': [v('a'), 1] }, null, 'red'] },
    [
      [{ a: 1 }, 'blue'],
      [{}, 'red'],
    ],
  ],
])('%s', (_name, targeting, cases) => {
  const def = mapped(targeting);
  for (const [ctx, want] of cases) expect([ctx, served(def, ctx)]).toEqual([ctx, want]);
});

test('state, variants, defaultVariant and type; DISABLED maps to enabled: false', () => {
  const { flags, issues } = fromFlagd(
    JSON.stringify({
      $schema: 'https://flagd.dev/schema/v0/flags.json',
      flags: {
        'show-banner': { state: 'DISABLED', variants: { on: true, off: false }, defaultVariant: 'off' },
        limit: { state: 'ENABLED', variants: { low: 10, high: 100 }, defaultVariant: 'low', targeting: {} },
        layout: { state: 'ENABLED', variants: { a: { cols: 2 }, b: null }, defaultVariant: 'a' },
      },
    }),
  );
  expect(issues).toEqual([]);
  expect(flags).toEqual({
    'show-banner': {
      type: 'boolean',
      variants: { on: true, off: false },
      defaultVariant: 'off',
      enabled: false,
    },
    limit: { type: 'number', variants: { low: 10, high: 100 }, defaultVariant: 'low' },
    layout: { type: 'json', variants: { a: { cols: 2 }, b: null }, defaultVariant: 'a' },
  });
});

test('fractional: weights kept as written, bucketed as flagd (key + targeting key by default), no issue', () => {
  const { flags, issues } = fromFlagd(
    flagd({
      fractional: [{ cat: [v('$flagd.flagKey'), v('targetingKey')] }, ['red', 1], ['green', 2], ['blue', 1]],
    }),
  );
  expect(flags.color).toEqual({
    type: 'string',
    variants,
    split: { red: 1, green: 2, blue: 1 },
    bucketing: {
      hash: 'flagd',
      by: { cat: [{ flagKey: true }, { attribute: 'targetingKey' }] },
      otherwise: 'blue',
    },
  });
  expect(issues).toEqual([]);
  const inRule = mapped({
    if: [
      { '==': [v('beta'), true] },
      {
        fractional: [
          ['red', 50],
          ['green', 50],
        ],
      },
    ],
  });
  expect(inRule.rules).toEqual([
    {
      attribute: 'beta',
      op: 'eq',
      value: true,
      split: { red: 50, green: 50 },
      bucketing: { hash: 'flagd', otherwise: 'blue' },
    },
  ]);
  expect(inRule.defaultVariant).toBe('blue');
  expect(
    fromFlagd(flagd({ fractional: [v('email'), ['red', 1]] }), { fractional: 'flagd-v1' }).flags.color,
  ).toEqual({
    type: 'string',
    variants,
    split: { red: 1 },
    bucketing: { hash: 'flagd-v1', by: { attribute: 'email' }, otherwise: 'blue' },
  });
  // Weights totalling 0: flagd 0.15 serves the default variant to everyone.
  expect(mapped({ fractional: [['red', 0]] })).toEqual({ type: 'string', variants, defaultVariant: 'blue' });
});

test('$ref to $evaluators is inlined; flags given as an array with key', () => {
  const { flags, issues } = fromFlagd({
    $evaluators: { staff: { ends_with: [v('email'), '@corp.example'] } },
    flags: [
      {
        key: 'color',
        state: 'ENABLED',
        variants,
        defaultVariant: 'blue',
        targeting: { if: [{ $ref: 'staff' }, 'red'] },
      },
    ],
  });
  expect(issues).toEqual([]);
  expect(flags.color!.rules).toEqual([
    { attribute: 'email', op: 'endsWith', value: '@corp.example', variant: 'red' },
  ]);
});

test.each<[string, unknown, string, string]>([
  [
    'an operator with no equivalent',
    { if: [{ '%': [v('n'), 2] }, 'red'] },
    'targeting.if[0].%',
    '%: no Concord equivalent',
  ],
  [
    'two attributes compared',
    { if: [{ '==': [v('a'), v('b')] }, 'red'] },
    'targeting.if[0].==',
    'a context attribute with a constant',
  ],
  [
    '$flagd properties',
    { if: [{ '>': [v('$flagd.timestamp'), 5] }, 'red'] },
    'targeting.if[0].>[0]',
    "flagd's own properties",
  ],
  [
    'a string comparison with <',
    { if: [{ '<': [v('a'), 'm'] }, 'red'] },
    'targeting.if[0].<',
    'numbers only',
  ],
  [
    'a fractional bucketing by a $flagd property other than the flag key',
    { fractional: [v('$flagd.timestamp'), ['red', 50], ['blue', 50]] },
    'targeting.fractional[0]',
    'no Concord equivalent',
  ],
  [
    'a fractional bucketing by an expression other than var and cat',
    { fractional: [{ substr: [v('email'), 1] }, ['red', 50], ['blue', 50]] },
    'targeting.fractional[0]',
    'texts and {"var": name} only',
  ],
  [
    'a fractional naming a variant twice',
    {
      fractional: [
        ['red', 50],
        ['blue', 25],
        ['red', 25],
      ],
    },
    'targeting.fractional[2]',
    'variant "red" twice',
  ],
  [
    'a fractional whose variant names read as integers, out of numeric order',
    {
      fractional: [
        ['10', 1],
        ['2', 1],
      ],
    },
    'targeting.fractional',
    'walked first',
  ],
  [
    'a fractional bucketing by a var with a default',
    { fractional: [{ var: ['email', 'x'] }, ['red', 1]] },
    'targeting.fractional[0]',
    'texts and {"var": name} only',
  ],
  [
    'a fractional with a computed weight',
    {
      fractional: [
        ['red', { if: [true, 1, 0] }],
        ['blue', 1],
      ],
    },
    'targeting.fractional[0]',
    'expects [variant, weight]',
  ],
  ['an unknown variant', { if: [{ '==': [v('a'), 1] }, 'purple'] }, '', 'unknown variant "purple"'],
  ['a missing $ref', { if: [{ $ref: 'nope' }, 'red'] }, 'targeting.if[0].$ref', 'no evaluator "nope"'],
  [
    'a bad version',
    { if: [{ sem_ver: [v('a'), '>', 'one'] }, 'red'] },
    'targeting.if[0].sem_ver[2]',
    'is not a version',
  ],
])('left out, with the reason: %s', (_name, targeting, path, reason) => {
  const { flags, issues } = fromFlagd({
    flags: { ...flagd(targeting).flags, ok: { state: 'ENABLED', variants, defaultVariant: 'red' } },
  });
  expect(Object.keys(flags)).toEqual(['ok']);
  const skipped = issues.filter((i) => i.skipped);
  expect(skipped).toHaveLength(1);
  expect(skipped[0]).toMatchObject({ flag: 'color', path });
  expect(skipped[0]!.reason).toContain(reason);
});

test.each<[string, Record<string, unknown>, string, string]>([
  ['no defaultVariant', { defaultVariant: null }, 'defaultVariant', "code's default"],
  ['an unknown state', { state: 'ON' }, 'state', 'ENABLED or DISABLED'],
  ['no variants', { variants: {} }, 'variants', 'needs variants'],
])('left out: %s', (_name, more, path, reason) => {
  const { flags, issues } = fromFlagd(flagd(undefined, more));
  expect(flags).toEqual({});
  expect(issues).toEqual([{ flag: 'color', path, reason: expect.stringContaining(reason), skipped: true }]);
});

test.each<[string, unknown, unknown]>([
  ['null: the default (key + targeting key)', null, undefined],
  ['a constant', 'seed', 'seed'],
  ['var in its array form', { var: ['email'] }, { attribute: 'email' }],
  ['$flagd.flagKey alone', { var: '$flagd.flagKey' }, { flagKey: true }],
  [
    'cat of a constant, null and a var',
    { cat: ['s', null, v('a.b')] },
    { cat: ['s', '', { attribute: 'a.b' }] },
  ],
])('fractional bucketBy %s', (_name, by, want) => {
  const def = mapped({ fractional: [by, ['red', 1], ['green', 1]] });
  expect(def.bucketing).toEqual({
    hash: 'flagd',
    otherwise: 'blue',
    ...(want === undefined ? {} : { by: want }),
  });
});
