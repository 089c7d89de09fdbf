/**
 * schemas/flag-definition.schema.json against the validator: every definition the validator
 * accepts (the fixtures, and 3,000 generated ones of every shape) validates against the schema,
 * and the invalid fixtures fail both. What only the validator can check is listed apart.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { flagProblems } from '../../recipes/flags.js';
import { INVALID, INVALID_BEYOND_SCHEMA, VALID } from './flags-fixtures.js';

const schema = JSON.parse(
  readFileSync(path.join(__dirname, '../../schemas/flag-definition.schema.json'), 'utf8'),
) as object;
const ajv = new Ajv2020({
  strict: true,
  strictRequired: false,
  strictTypes: false,
  allErrors: true,
  allowUnionTypes: true,
});
const validate = ajv.compile(schema);
/** Stored documents are JSON: the schema sees the definition as it round-trips. */
const schemaAccepts = (def: unknown) => validate(JSON.parse(JSON.stringify(def)));

test.each(VALID)('valid for both: %s', (_name, def) => {
  expect(flagProblems(def)).toEqual([]);
  expect({ ok: schemaAccepts(def), errors: validate.errors }).toEqual({ ok: true, errors: null });
});

test.each(INVALID)('invalid for both: %s', (_name, def, problem) => {
  expect(flagProblems(def).join('\n')).toContain(problem);
  expect(schemaAccepts(def)).toBe(false);
});

test.each(INVALID_BEYOND_SCHEMA)('refused by the validator only: %s', (_name, def, problem) => {
  expect(flagProblems(def).join('\n')).toContain(problem);
  expect(schemaAccepts(def)).toBe(true);
});

/** Mostly what the validator accepts, sometimes not: both sides of the line get exercised. */
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: good, weight: 12 }, { arbitrary: bad, weight: 1 });
const attribute = mostly(
  fc.constantFrom('country', 'age', 'app', 'account.plan', 'targetingKey'),
  fc.constant(''),
);
const scalar = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean(), fc.constant(null));
const version = mostly(
  fc.constantFrom('1.2.3', 'v2.0.0-rc.1', 'V0.0.1+b.7', '1.0.0-alpha.beta'),
  fc.constantFrom('1.2', '01.2.3', ' 1.2.3', 3),
);
const attributeTest = fc.oneof(
  fc.record({
    attribute,
    op: fc.constantFrom('eq', 'neq', 'contains'),
    value: mostly(scalar, fc.array(scalar)),
  }),
  fc.record({ attribute, op: fc.constantFrom('in', 'notIn'), value: mostly(fc.array(scalar), scalar) }),
  fc.record({
    attribute,
    op: fc.constantFrom('startsWith', 'endsWith', 'matches'),
    value: mostly(fc.constantFrom('a', '^x\\d+$'), scalar),
  }),
  fc.record({
    attribute,
    op: mostly(fc.constantFrom('lt', 'lte', 'gt', 'gte'), fc.constant('like')),
    value: mostly(fc.double({ noNaN: true, noDefaultInfinity: true }), scalar),
  }),
  fc.record({
    attribute,
    op: fc.constantFrom('semverEq', 'semverNeq', 'semverLt', 'semverLte', 'semverGt', 'semverGte'),
    value: version,
  }),
);
const { condition } = fc.letrec((tie) => ({
  condition: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    attributeTest,
    fc.record({ all: fc.array(tie('condition'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ any: fc.array(tie('condition'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ not: tie('condition') }),
  ),
}));
const split = mostly(
  fc.constantFrom({ a: 50, b: 50 }, { c: 12.5, a: 87.5 }, { b: 0, a: 100 }),
  fc.constantFrom({ a: -50, b: 150 }, {}, { a: 50, z: 50 }, { a: 60, b: 60 }),
);
const bucketPart = mostly(
  fc.constantFrom<unknown>('seed', '', { attribute: 'email' }, { attribute: 'user.id' }, { flagKey: true }),
  fc.constantFrom<unknown>({ attribute: '' }, { flagKey: false }, 7, { attribute: 'a', flagKey: true }),
);
const bucketing = fc.record(
  {
    hash: mostly(fc.constantFrom('flagd', 'flagd-v1'), fc.constant('murmur')),
    by: fc.oneof(bucketPart, fc.record({ cat: fc.array(bucketPart, { maxLength: 3 }) })),
    otherwise: mostly(fc.constantFrom('a', 'b'), fc.constant('z')),
  },
  { requiredKeys: ['hash'] },
);
const flagdSplit = mostly(
  fc.constantFrom({ a: 1, b: 3 }, { b: 0, a: 2147483647 }, { c: 7 }),
  fc.constantFrom({ a: 1.5, b: 1 }, { a: 0 }, { a: 2147483647, b: 1 }),
);
const outcome = fc.oneof(
  fc.record({ serve: mostly(fc.boolean(), scalar) }),
  fc.record({ variant: mostly(fc.constantFrom('a', 'b'), fc.constant('z')) }),
  fc.record({ split }),
  fc.record({ split: flagdSplit, bucketing }),
);
const rule = fc.tuple(condition, outcome).map(([c, o]) => ({ ...c, ...o }));
const defaultOutcome = fc.oneof(
  fc.record({ value: mostly(fc.boolean(), scalar) }),
  fc.record({ defaultVariant: mostly(fc.constantFrom('a', 'c'), fc.constant('x')) }),
  fc.record({ split }),
  fc.record({ split: flagdSplit, bucketing }),
);
const rest = fc.record(
  {
    type: mostly(fc.constantFrom('boolean', 'boolean', 'json'), fc.constant('bool')),
    variants: mostly(fc.constant({ a: true, b: false, c: true }), fc.constant({ a: 'yes' })),
    enabled: mostly(fc.boolean(), scalar),
    rules: fc.array(rule, { maxLength: 3 }),
    rollout: fc.record(
      {
        percentage: mostly(fc.double({ min: 0, max: 100, noNaN: true }), fc.constant(101)),
        serve: fc.boolean(),
        otherwise: fc.boolean(),
      },
      { requiredKeys: ['percentage', 'serve'] },
    ),
    description: fc.string({ maxLength: 3 }),
  },
  { requiredKeys: ['type'] },
);
const definition = fc.tuple(rest, defaultOutcome).map(([r, d]) => ({ ...r, ...d }));

test('3,000 generated definitions: whatever the validator accepts, the schema accepts', () => {
  let valid = 0;
  let invalid = 0;
  fc.assert(
    fc.property(definition, (def) => {
      if (flagProblems(def).length > 0) {
        invalid++;
        return;
      }
      valid++;
      expect({ def, ok: schemaAccepts(def), errors: validate.errors }).toEqual({
        def,
        ok: true,
        errors: null,
      });
    }),
    { numRuns: 3000 },
  );
  // Both sides of the line are exercised, not one.
  expect(valid).toBeGreaterThan(150);
  expect(invalid).toBeGreaterThan(150);
});

const bool = { type: 'boolean', variants: { on: true, off: false } } as const;
const flagdBucketing = { hash: 'flagd' } as const;

test.each<[string, unknown]>([
  [
    'a default split bucketed as flagd, weights of any total',
    { ...bool, split: { on: 1, off: 3 }, bucketing: flagdBucketing },
  ],
  [
    'a rule split bucketed as flagd 0.14 by cat, with otherwise',
    {
      ...bool,
      value: false,
      rules: [
        {
          attribute: 'beta',
          op: 'eq',
          value: true,
          split: { on: 5, off: 0 },
          bucketing: {
            hash: 'flagd-v1',
            by: { cat: ['seed', { flagKey: true }, { attribute: 'a.b' }] },
            otherwise: 'off',
          },
        },
      ],
    },
  ],
  [
    'by one attribute',
    { ...bool, split: { on: 1 }, bucketing: { hash: 'flagd', by: { attribute: 'email' } } },
  ],
])('bucketing, valid for both: %s', (_name, def) => {
  expect(flagProblems(def)).toEqual([]);
  expect({ ok: schemaAccepts(def), errors: validate.errors }).toEqual({ ok: true, errors: null });
});

test.each<[string, unknown, string]>([
  [
    'bucketing without a split',
    { ...bool, defaultVariant: 'on', bucketing: flagdBucketing },
    'bucketing: only with split',
  ],
  [
    'bucketing beside a rule variant',
    {
      ...bool,
      value: true,
      rules: [{ attribute: 'a', op: 'eq', value: 1, variant: 'on', bucketing: flagdBucketing }],
    },
    'rules[0].bucketing: only with split',
  ],
  [
    'an unknown hash',
    { ...bool, split: { on: 1 }, bucketing: { hash: 'murmur' } },
    'bucketing.hash: must be one of flagd',
  ],
  [
    'decimal weights',
    { ...bool, split: { on: 0.5, off: 1 }, bucketing: flagdBucketing },
    'split.on: with a flagd bucketing, weights are whole numbers',
  ],
  [
    'an empty attribute',
    { ...bool, split: { on: 1 }, bucketing: { hash: 'flagd', by: { attribute: '' } } },
    'bucketing.by: must be a text',
  ],
  [
    'cat not an array',
    { ...bool, split: { on: 1 }, bucketing: { hash: 'flagd', by: { cat: 'x' } } },
    '{ cat } takes an array',
  ],
  [
    'an unknown field',
    { ...bool, split: { on: 1 }, bucketing: { hash: 'flagd', seed: 1 } },
    'bucketing.seed: unknown field',
  ],
])('bucketing, invalid for both: %s', (_name, def, problem) => {
  expect(flagProblems(def).join('\n')).toContain(problem);
  expect(schemaAccepts(def)).toBe(false);
});

test.each<[string, unknown, string]>([
  [
    'weights totalling 0',
    { ...bool, split: { on: 0 }, bucketing: flagdBucketing },
    'weights must total 1 to 2147483647, got 0',
  ],
  [
    'weights over 2^31 - 1',
    { ...bool, split: { on: 2147483647, off: 1 }, bucketing: flagdBucketing },
    'got 2147483648',
  ],
  [
    'otherwise an unknown variant',
    { ...bool, split: { on: 1 }, bucketing: { hash: 'flagd', otherwise: 'of' } },
    'bucketing.otherwise: unknown variant "of"',
  ],
])('bucketing, refused by the validator only: %s', (_name, def, problem) => {
  expect(flagProblems(def).join('\n')).toContain(problem);
  expect(schemaAccepts(def)).toBe(true);
});
