/**
 * An app's test on Jest against a throwaway Concord cluster (docs/testing.md). concord-kv is an
 * ES module: Jest runs it in its ESM mode (jest.config.mjs beside this file):
 *
 *   NODE_OPTIONS=--experimental-vm-modules npx jest --config examples/testing/jest.config.mjs
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startTestCluster, type TestCluster } from 'concord-kv/testing';

// One member for the whole file: started once, thrown away after the last test.
let single: TestCluster;
beforeAll(async () => {
  single = await startTestCluster();
}, 30_000); // starting takes seconds: more than the runner's default of 5 s
afterAll(() => single.close());

test('reads what it wrote', async () => {
  const client = single.client();
  await client.put('greeting', 'hello');
  expect(await client.getString('greeting')).toBe('hello');
});

// Three members for one test, thrown away when the test's scope ends.
test('keeps serving after its leader dies', async () => {
  await using cluster = await startTestCluster({ members: 3 });
  const client = cluster.client();
  await client.put('greeting', 'hello');

  await cluster.kill(await cluster.leader());
  await cluster.leader(); // the other two elect a new leader
  await client.put('greeting', 'still here');
  expect(await client.getString('greeting')).toBe('still here');
}, 30_000);
