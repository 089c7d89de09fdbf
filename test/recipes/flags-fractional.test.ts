/**
 * A flagd file with `fractional` targeting, imported with fromFlagd(), stored with flagsAdmin()
 * and read back through the cluster by flags() and the OpenFeature provider: every user gets the
 * variant flagd gives them. The expected variants are flagd-testbed's (open-feature/flagd-testbed
 * at df6a843, evaluator/gherkin/fractional.feature; test/unit/flags-fractional.test.ts has the
 * rest of the vectors and where each comes from).
 */
import { type EvaluationContext, OpenFeature } from '@openfeature/server-sdk';
import { flags, flagsAdmin, fromFlagd } from '../../recipes/flags.js';
import { ConcordFlagProvider } from '../../recipes/openfeature.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { TESTBED } from '../harness/flagd-testbed.js';

const etcd = etcdSuite({ members: 1, name: 'flags-fractional' });

/** As a flagd user has it on disk: testkit-flags.json's fractional flags (three of those Concord maps). */
const FLAGD_FILE = JSON.stringify({
  $schema: 'https://flagd.dev/schema/v0/flags.json',
  flags: Object.fromEntries(
    ['fractional-flag', 'fractional-flag-shorthand', 'fractional-hash-edge-flag'].map((k) => [k, TESTBED[k]]),
  ),
});

async function importInto(prefix: string, fractional: 'flagd' | 'flagd-v1'): Promise<void> {
  const { flags: defs, issues } = fromFlagd(FLAGD_FILE, { fractional });
  expect(issues).toEqual([]);
  const admin = flagsAdmin(etcd.client, { prefix });
  for (const [name, def] of Object.entries(defs)) await admin.set(name, def);
}

test('flagd 0.15+ assignments survive the move: reader and OpenFeature serve flagd’s variants', async () => {
  await importInto('frac/', 'flagd');
  const f = flags(etcd.newClient(), { prefix: 'frac/' });
  await f.ready();
  await OpenFeature.setProviderAndWait('fractional-test', new ConcordFlagProvider(f));
  const of = OpenFeature.getClient('fractional-test');
  try {
    const byName = { jack: 'hearts', queen: 'spades', ten: 'clubs', nine: 'diamonds', 3: 'clubs' };
    for (const [name, want] of Object.entries(byName)) {
      expect([name, f.getString('fractional-flag', 'x', { user: { name } })]).toEqual([name, want]);
      const d = await of.getStringDetails('fractional-flag', 'x', { user: { name } });
      expect([name, d.value, d.reason]).toEqual([name, want, 'SPLIT']);
    }
    // Weights totalling 2, and one variant without a weight.
    expect(f.getString('fractional-flag-shorthand', 'x', { targetingKey: 'jon@company.com' })).toBe('heads');
    expect(f.getString('fractional-flag-shorthand', 'x', { targetingKey: 'jane@company.com' })).toBe('tails');
    // Hashes at the bucket boundaries.
    for (const [key, want] of [
      ['ejOoVL', 'lower'],
      ['bY9fO-', 'lower'],
      ['SI7p-', 'lower'],
      ['6LvT0', 'upper'],
      ['ceQdGm', 'upper'],
    ])
      expect([key, f.getString('fractional-hash-edge-flag', 'x', { targetingKey: key })]).toEqual([
        key,
        want,
      ]);
    // No targeting key: flagd's default variant, reason DEFAULT.
    for (const ctx of [{}, { targetingKey: '' }] as EvaluationContext[])
      expect(await of.getStringDetails('fractional-flag-shorthand', 'x', ctx)).toMatchObject({
        value: 'draw',
        variant: 'draw',
        reason: 'DEFAULT',
      });
  } finally {
    await OpenFeature.close();
    f.close();
  }
});

test('a file from flagd 0.14 or earlier, imported as such, keeps that version’s assignments', async () => {
  await importInto('frac-v1/', 'flagd-v1');
  const f = flags(etcd.newClient(), { prefix: 'frac-v1/' });
  await f.ready();
  try {
    const byName = { jack: 'spades', queen: 'clubs', ten: 'diamonds', nine: 'hearts', 3: 'diamonds' };
    for (const [name, want] of Object.entries(byName))
      expect([name, f.getString('fractional-flag', 'x', { user: { name } })]).toEqual([name, want]);
    expect(f.getString('fractional-flag-shorthand', 'x', { targetingKey: 'jon@company.com' })).toBe('heads');
    expect(f.getString('fractional-flag-shorthand', 'x', { targetingKey: 'jane@company.com' })).toBe('tails');
    expect(f.getStringDetails('fractional-flag-shorthand', 'x', {})).toMatchObject({
      variant: 'draw',
      reason: 'DEFAULT',
    });
  } finally {
    f.close();
  }
});
