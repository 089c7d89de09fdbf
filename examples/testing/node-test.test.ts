/**
 * An app's test on `node:test` against a throwaway Concord cluster (docs/testing.md).
 *
 *   npx tsc && node --test dist/examples/testing/node-test.test.js
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from 'concord-kv/testing';

// One member for the whole file: started once, thrown away after the last test.
let single: TestCluster;
before(async () => {
  single = await startTestCluster();
});
after(() => single.close());

test('reads what it wrote', async () => {
  const client = single.client();
  await client.put('greeting', 'hello');
  assert.equal(await client.getString('greeting'), 'hello');
});

// Three members for one test, thrown away when the test's scope ends.
test('keeps serving after its leader dies', async () => {
  await using cluster = await startTestCluster({ members: 3 });
  const client = cluster.client();
  await client.put('greeting', 'hello');

  await cluster.kill(await cluster.leader());
  await cluster.leader(); // the other two elect a new leader
  await client.put('greeting', 'still here');
  assert.equal(await client.getString('greeting'), 'still here');
});
