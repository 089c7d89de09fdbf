/**
 * Feature flags: an admin defines a flag with a targeting rule and a 25 % rollout; a reader
 * evaluates it locally (no request per evaluation) and sees a change as soon as it is made.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 node dist/examples/flags.js
 */
import { flags, flagsAdmin } from '../recipes/index.js';
import { Client } from '../src/index.js';

const client = new Client({ endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',') });
const prefix = `example-flags-${process.pid}/`;
const admin = flagsAdmin(client, { prefix });

await admin.set('new-checkout', {
  type: 'boolean',
  value: false,
  rules: [{ attribute: 'email', op: 'endsWith', value: '@example.com', serve: true }],
  rollout: { percentage: 25, serve: true },
});
try {
  await admin.set('bad', { type: 'number', value: 'ten' } as never);
} catch (e) {
  console.log(`rejected: ${(e as Error).message}`);
}

const f = flags(client, { prefix });
await f.ready();
const staff = f.getBooleanDetails('new-checkout', false, { targetingKey: 'u-1', email: 'ann@example.com' });
console.log(`staff: ${staff.value} (${staff.reason}, ${staff.variant})`);
const users = Array.from({ length: 1000 }, (_, i) =>
  f.getBoolean('new-checkout', false, { targetingKey: `user-${i}` }),
);
console.log(`rollout: ${users.filter(Boolean).length} of 1000 users get it`);
const missing = f.getStringDetails('no-such-flag', 'fallback');
console.log(`missing: ${missing.value} (${missing.errorCode})`);

const changed = new Promise<void>((resolve) => f.once('change', () => resolve()));
await admin.set('new-checkout', { type: 'boolean', value: true });
await changed;
console.log(`after change: ${f.getBoolean('new-checkout', false, { targetingKey: 'user-1' })}`);

await client.delete({ prefix });
f.close();
client.close();
