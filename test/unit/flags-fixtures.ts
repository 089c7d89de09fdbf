/**
 * Flag definitions shared by the evaluation and schema tests: valid ones (every shape the format
 * allows, old and new) and invalid ones with the problem the validator must report.
 */
import type { FlagDefinition } from '../../recipes/flags.js';

/** Named variants: a rule naming one, a rule splitting two, a rule serving a value, a default, a rollout. */
export const COLORS: FlagDefinition<string> = {
  type: 'string',
  variants: { red: '#f00', green: '#0f0', blue: '#00f' },
  defaultVariant: 'blue',
  rules: [
    { attribute: 'staff', op: 'eq', value: true, variant: 'red' },
    { attribute: 'beta', op: 'eq', value: true, split: { red: 20, green: 80 } },
    { attribute: 'old', op: 'eq', value: true, serve: '#000' },
  ],
  rollout: { percentage: 5, serve: '#fff' },
};

export const VALID: [string, FlagDefinition][] = [
  ['a static boolean', { type: 'boolean', value: true }],
  ['a disabled json', { type: 'json', value: { a: [1, null] }, enabled: false, description: 'd' }],
  [
    'old-style rules and a rollout',
    {
      type: 'string',
      value: 'basic',
      rules: [
        { attribute: 'targetingKey', op: 'in', value: ['vip-1'], serve: 'vip' },
        { attribute: 'email', op: 'endsWith', value: '@corp.example', serve: 'staff' },
        { attribute: 'name', op: 'matches', value: '^bot-\\d+$', serve: 'bot' },
        { attribute: 'age', op: 'gte', value: 65, serve: 'senior' },
        { attribute: 'plan', op: 'neq', value: null, serve: 'x' },
      ],
      rollout: { percentage: 12.5, serve: 'new', otherwise: 'old' },
    },
  ],
  [
    'nested all/any/not with semver and numbers',
    {
      type: 'number',
      value: 0,
      rules: [
        {
          all: [
            { attribute: 'country', op: 'in', value: ['FR', 'BE'] },
            { not: { attribute: 'plan', op: 'eq', value: 'free' } },
            {
              any: [
                { attribute: 'app', op: 'semverGte', value: '2.1.0-rc.1' },
                { attribute: 'age', op: 'lt', value: 18 },
              ],
            },
          ],
          serve: 3,
        },
      ],
    },
  ],
  ['variants: a rule variant, a rule split, a default variant, a rollout', COLORS],
  [
    'a default split with decimal weights',
    { type: 'boolean', variants: { on: true, off: false }, split: { on: 33.3, off: 66.7 } },
  ],
];

/** Invalid definitions and a problem the validator reports (and the schema must refuse them too). */
export const INVALID: [string, unknown, string][] = [
  ['not an object', [], 'definition must be an object'],
  ['unknown type', { type: 'bool', value: true }, 'type: must be one of'],
  ['no default', { type: 'string' }, 'value: required'],
  ['value of another type', { type: 'number', value: '3' }, 'value: must be a finite number'],
  ['unknown field', { type: 'boolean', value: true, colour: 1 }, 'colour: unknown field'],
  [
    'unknown operator',
    { type: 'boolean', value: true, rules: [{ attribute: 'a', op: 'like', value: 1, serve: true }] },
    'rules[0].op: unknown operator "like"',
  ],
  [
    'in without an array',
    { type: 'boolean', value: true, rules: [{ attribute: 'a', op: 'in', value: 'FR', serve: true }] },
    'rules[0].value: in needs an array',
  ],
  [
    'a semver operator with no version',
    { type: 'boolean', value: true, rules: [{ attribute: 'a', op: 'semverLt', value: '1.2', serve: true }] },
    'rules[0].value: semverLt needs a SemVer 2.0 version',
  ],
  [
    'lt with a string',
    { type: 'boolean', value: true, rules: [{ attribute: 'a', op: 'lt', value: '3', serve: true }] },
    'rules[0].value: lt needs a finite number',
  ],
  [
    'an empty all',
    { type: 'boolean', value: true, rules: [{ all: [], serve: true }] },
    'rules[0].all: must be a non-empty array',
  ],
  [
    'all mixed with an attribute test',
    {
      type: 'boolean',
      value: true,
      rules: [{ all: [{ attribute: 'a', op: 'eq', value: 1 }], op: 'eq', serve: true }],
    },
    'rules[0]: give one of',
  ],
  [
    'a nested condition with a serve',
    {
      type: 'boolean',
      value: true,
      rules: [{ not: { attribute: 'a', op: 'eq', value: 1, serve: true }, serve: true }],
    },
    'rules[0].not.serve: unknown field',
  ],
  [
    'a rule with no outcome',
    { type: 'boolean', value: true, rules: [{ attribute: 'a', op: 'eq', value: 1 }] },
    'rules[0].serve: required',
  ],
  [
    'a rule with two outcomes',
    {
      type: 'boolean',
      variants: { on: true },
      value: true,
      rules: [{ attribute: 'a', op: 'eq', value: 1, serve: true, variant: 'on' }],
    },
    'rules[0]: serve and variant are exclusive',
  ],
  [
    'value and defaultVariant',
    { type: 'boolean', value: true, variants: { on: true }, defaultVariant: 'on' },
    'value and defaultVariant are exclusive',
  ],
  [
    'a variant of another type',
    { type: 'boolean', variants: { on: 'yes' }, defaultVariant: 'on' },
    'variants.on: must be a boolean',
  ],
  [
    'no variants at all',
    { type: 'boolean', variants: {}, value: true },
    'variants: must be an object of values by name',
  ],
  [
    'a rollout and a split',
    {
      type: 'boolean',
      variants: { on: true, off: false },
      split: { on: 50, off: 50 },
      rollout: { percentage: 5, serve: true },
    },
    'rollout: not with split',
  ],
  [
    'a negative weight',
    { type: 'boolean', variants: { on: true, off: false }, split: { on: 150, off: -50 } },
    'split.off: a weight must be a number >= 0',
  ],
  [
    'a rollout above 100',
    { type: 'boolean', value: true, rollout: { percentage: 120, serve: false } },
    'rollout.percentage: must be a number from 0 to 100',
  ],
];

/** Valid by the JSON Schema's reach but refused by the validator: facts a schema cannot state. */
export const INVALID_BEYOND_SCHEMA: [string, unknown, string][] = [
  [
    'a bad regular expression',
    { type: 'boolean', value: true, rules: [{ attribute: 'a', op: 'matches', value: '(', serve: true }] },
    'rules[0].value: invalid regular expression',
  ],
  [
    'an unknown default variant',
    { type: 'boolean', variants: { on: true }, defaultVariant: 'of' },
    'defaultVariant: unknown variant "of"',
  ],
  [
    'a rule variant without variants',
    { type: 'boolean', value: false, rules: [{ attribute: 'a', op: 'eq', value: 1, variant: 'on' }] },
    'rules[0].variant: names a variant, but the flag has no variants',
  ],
  [
    'weights not summing to 100',
    { type: 'boolean', variants: { on: true, off: false }, split: { on: 50, off: 40 } },
    'split: weights must sum to 100, got 90',
  ],
  [
    'a split naming an unknown variant',
    { type: 'boolean', variants: { on: true, off: false }, split: { on: 50, of: 50 } },
    'split.of: unknown variant "of"',
  ],
];
