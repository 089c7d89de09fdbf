/**
 * The OpenFeature web provider (static context) against real etcd and Concord: flags written by
 * flagsAdmin() are served for the page's context, a changed flag arrives as
 * CONFIGURATION_CHANGED with its name, a changed context re-evaluates, and errors serve the
 * default with OpenFeature's codes. (test/browser/ runs it in Chromium on the fetch entry point.)
 */
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { flagsAdmin } from '../../recipes/index.js';
import { ConcordWebFlagProvider } from '../../recipes/openfeature-web.js';
import { withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'of-web' });

afterEach(async () => {
  await OpenFeature.clearProviders();
});

test('serves flags for the static context; follows flag and context changes', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'web/' });
  await admin.set('beta', {
    type: 'boolean',
    value: false,
    rules: [{ attribute: 'country', op: 'in', value: ['NZ'], serve: true }],
  });
  await admin.set('theme', { type: 'string', value: 'light' });
  await etcd.client.put('web/broken', '{not json');

  await OpenFeature.setProviderAndWait(new ConcordWebFlagProvider(etcd.client, { prefix: 'web/' }), {
    targetingKey: 'ann',
    country: 'NZ',
  });
  const of = OpenFeature.getClient();
  expect(of.getBooleanDetails('beta', false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
  expect(of.getStringValue('theme', 'x')).toBe('light');
  expect(of.getBooleanDetails('missing', true)).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND' });
  expect(of.getNumberDetails('theme', 3)).toMatchObject({ value: 3, errorCode: 'TYPE_MISMATCH' });
  expect(of.getBooleanDetails('broken', true)).toMatchObject({ value: true, errorCode: 'PARSE_ERROR' });

  const changed = new Promise<string[] | undefined>((resolve) =>
    of.addHandler(ProviderEvents.ConfigurationChanged, (d) => resolve(d?.flagsChanged)),
  );
  await admin.set('theme', { type: 'string', value: 'dark' });
  expect(await withTimeout(changed, 10_000, 'CONFIGURATION_CHANGED')).toEqual(['theme']);
  expect(of.getStringValue('theme', 'x')).toBe('dark');

  await OpenFeature.setContext({ targetingKey: 'bob', country: 'FR' });
  expect(of.getBooleanDetails('beta', true)).toMatchObject({ value: false, reason: 'DEFAULT' });
});

test('works on a namespace, and a disabled flag serves the default', async () => {
  const ns = etcd.client.namespace('tenant-a/');
  await flagsAdmin(ns, { prefix: 'flags/' }).set('off', { type: 'boolean', value: true, enabled: false });
  await OpenFeature.setProviderAndWait(new ConcordWebFlagProvider(ns), {});
  expect(OpenFeature.getClient().getBooleanDetails('off', false)).toMatchObject({
    value: false,
    reason: 'DISABLED',
  });
});
