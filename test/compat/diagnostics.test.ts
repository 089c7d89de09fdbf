/**
 * The diagnostics channels and the `logger` option against the target: a unary call's start and
 * end (method, key, endpoint, outcome, error code), failover and retry off a dead endpoint,
 * keepalive lag and a lease lost, a token refresh, and a logger fed the same events.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { CHANNELS, type RequestMessage } from '../../src/client/diagnostics.js';
import { compare, LeaseNotFoundError, op } from '../../src/index.js';
import { freePort, waitFor } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'diagnostics', client: { timeoutMs: 5000 } });

/** Every message of `names` while `fn` runs, as [channel, message] in order. */
async function heard<T>(
  names: string[],
  fn: (seen: [string, unknown][]) => Promise<T>,
): Promise<{ seen: [string, unknown][]; value: T }> {
  const seen: [string, unknown][] = [];
  const subs = names.map((n) => [n, (m: unknown) => seen.push([n, m])] as const);
  for (const [n, f] of subs) diagnostics_channel.subscribe(n, f);
  try {
    return { seen, value: await fn(seen) };
  } finally {
    for (const [n, f] of subs) diagnostics_channel.unsubscribe(n, f);
  }
}

const TRACING = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map(
  (e) => `tracing:${CHANNELS.request}:${e}`,
);
const short = (n: string) => n.slice(n.lastIndexOf(':') + 1);

/** The tracing events heard for requests about `key`, as [event, message]. */
function requests(seen: [string, unknown][], key: string): [string, RequestMessage][] {
  return seen
    .filter(([n, m]) => n.startsWith('tracing:') && (m as RequestMessage).key === key)
    .map(([n, m]) => [short(n), m as RequestMessage]);
}

test('a unary call publishes start, end, asyncStart and asyncEnd with its method, key and endpoint', async () => {
  const c = etcd.newClient();
  const { seen } = await heard(TRACING, async () => {
    await c.put('diag-req/a', '1');
    expect(await c.getString('diag-req/a')).toBe('1');
  });
  const events = requests(seen, 'diag-req/a');
  expect(events.map(([e, m]) => `${e} ${m.method}`)).toEqual([
    'start etcdserverpb.KV/Put',
    'end etcdserverpb.KV/Put',
    'asyncStart etcdserverpb.KV/Put',
    'asyncEnd etcdserverpb.KV/Put',
    'start etcdserverpb.KV/Range',
    'end etcdserverpb.KV/Range',
    'asyncStart etcdserverpb.KV/Range',
    'asyncEnd etcdserverpb.KV/Range',
  ]);
  const put = events[0]![1];
  // One object per call, filled in as it goes.
  expect(events.slice(0, 4).every(([, m]) => m === put)).toBe(true);
  expect(put).toMatchObject({
    endpoint: c.endpoints[0],
    transport: c.transport,
    attempts: 1,
    outcome: 'ok',
  });
  expect(put.durationMs).toBeGreaterThanOrEqual(0);
  expect(put.error).toBeUndefined();
});

test('a failed call publishes error with its code and gRPC status; a txn is known by its first compare', async () => {
  const c = etcd.newClient();
  const { seen } = await heard(TRACING, async () => {
    await expect(c.put('diag-err/a', '1', { lease: 0x7e57n })).rejects.toBeInstanceOf(LeaseNotFoundError);
    await c
      .txn()
      .if(compare.version('diag-err/t', '==', 0))
      .success(op.put('diag-err/t', 'x'))
      .commit();
  });
  const failed = requests(seen, 'diag-err/a');
  expect(failed.map(([e]) => e)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
  const m = failed[0]![1];
  expect(m).toMatchObject({
    method: 'etcdserverpb.KV/Put',
    outcome: 'error',
    code: 'lease-not-found',
    grpcCode: 5,
  });
  expect(m.error).toBeInstanceOf(LeaseNotFoundError);
  expect(requests(seen, 'diag-err/t')[0]![1].method).toBe('etcdserverpb.KV/Txn');
});

test('a long key is cut to its first 64 characters', async () => {
  const c = etcd.newClient();
  const key = `diag-long/${'k'.repeat(200)}`;
  const { seen } = await heard(TRACING, () => c.put(key, 'v'));
  expect(requests(seen, `${key.slice(0, 64)}…`)).toHaveLength(4);
});

test('a dead first endpoint: failover to the next, and a retry of the same call', async () => {
  const dead = `127.0.0.1:${await freePort()}`;
  const c = etcd.newClient([dead, ...etcd.cluster.endpoints]);
  const { seen } = await heard([CHANNELS.failover, CHANNELS.retry, ...TRACING], () => c.get('diag-fo/a'));
  const failover = seen.filter(([n]) => n === CHANNELS.failover).map(([, m]) => m);
  expect(failover).toEqual([{ from: dead, to: c.endpoints[1], reason: 'unavailable' }]);
  const retry = seen.filter(([n]) => n === CHANNELS.retry).map(([, m]) => m);
  expect(retry).toEqual([
    { method: 'etcdserverpb.KV/Range', attempt: 1, delayMs: expect.any(Number), code: 'unavailable' },
  ]);
  const [[, end]] = requests(seen, 'diag-fo/a').filter(([e]) => e === 'asyncEnd') as [
    [string, RequestMessage],
  ];
  expect(end).toMatchObject({ attempts: 2, endpoint: c.endpoints[1], outcome: 'ok' });
});

test('keepalive answers publish their lag; a lease revoked elsewhere publishes lease:lost', async () => {
  const c = etcd.newClient();
  const { seen } = await heard([CHANNELS.keepaliveLag, CHANNELS.leaseLost], async (seen) => {
    const lease = await c.lease({ ttl: 2 });
    await waitFor(
      () =>
        seen.some(([n, m]) => n === CHANNELS.keepaliveLag && (m as { leaseId: bigint }).leaseId === lease.id),
      { timeoutMs: 10_000 },
    );
    await etcd.newClient().revokeLease(lease.id);
    await lease.lost;
    return lease;
  });
  const lag = seen.find(([n]) => n === CHANNELS.keepaliveLag)![1] as { leaseId: bigint; lagMs: number };
  expect(lag.lagMs).toBeGreaterThanOrEqual(0);
  const lost = seen.filter(([n]) => n === CHANNELS.leaseLost).map(([, m]) => m);
  expect(lost).toEqual([{ leaseId: lag.leaseId, reason: 'expired' }]);
});

test('the logger hears the same events, lease IDs as text', async () => {
  const lines: [string, Record<string, unknown>, string][] = [];
  const at = (level: string) => (fields: object, message: string) =>
    lines.push([level, fields as Record<string, unknown>, message]);
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const dead = `127.0.0.1:${await freePort()}`;
  const c = etcd.newClient([dead, ...etcd.cluster.endpoints], { logger });
  await c.put('diag-log/a', '1');
  const lease = await c.lease({ ttl: 5 });
  await waitFor(() => lines.some(([, f]) => f.leaseId === lease.id.toString()), { timeoutMs: 10_000 });
  await lease.revoke();
  expect(lines).toContainEqual([
    'warn',
    { from: dead, to: c.endpoints[1], reason: 'unavailable' },
    'concord-kv concord-kv:failover',
  ]);
  expect(lines).toContainEqual([
    'info',
    expect.objectContaining({ attempt: 1, code: 'unavailable' }),
    'concord-kv concord-kv:retry',
  ]);
  expect(lines).toContainEqual([
    'debug',
    expect.objectContaining({ method: 'etcdserverpb.KV/Put', key: 'diag-log/a', outcome: 'ok', attempts: 2 }),
    'concord-kv etcdserverpb.KV/Put ok',
  ]);
  expect(lines.find(([, f]) => f.leaseId === lease.id.toString())?.[2]).toBe(
    'concord-kv concord-kv:lease:keepalive-lag',
  );
});

test('a logger without the four methods is refused at construction', () => {
  expect(() => etcd.newClient(undefined, { logger: { info() {} } as never })).toThrow(
    /logger must have debug, info, warn and error/,
  );
});

test('authenticating publishes a token refresh: initial, then refused after a password change', async () => {
  const admin = etcd.newClient();
  await admin.auth.addUser('root', 'rootpw');
  await admin.auth.grantRole('root', 'root');
  await admin.auth.enable();
  const root = () => etcd.newClient(undefined, { auth: { username: 'root', password: 'rootpw' } });
  try {
    const c = root();
    const { seen } = await heard([CHANNELS.tokenRefresh], async () => {
      await c.put('diag-auth/a', '1');
      // A password change (to the same one) ends the user's tokens: c's next call is refused,
      // and c authenticates again.
      await root().auth.changePassword('root', 'rootpw');
      await c.put('diag-auth/a', '2');
    });
    const reasons = seen.map(([, m]) => m as { endpoint: string; reason: string });
    expect(reasons[0]).toEqual({ endpoint: c.endpoints[0], reason: 'initial' });
    expect(reasons.at(-1)).toEqual({ endpoint: c.endpoints[0], reason: 'refused' });
  } finally {
    await root().auth.disable();
    await admin.auth.deleteUser('root');
  }
});
