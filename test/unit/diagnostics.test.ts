/**
 * The diagnostics publisher's "no cost when nobody listens": no message is built, and unary calls
 * get the transport's own service clients (no tracing proxy), until a channel has a subscriber
 * or the client has a logger.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { Connections } from '../../src/client/connections.js';
import { CHANNELS, Diagnostics, keyPreview } from '../../src/client/diagnostics.js';
import type { Transport } from '../../src/client/transport.js';
import { KVDefinition } from '../../src/gen/etcdserverpb/rpc.js';

test('a message is built only when its channel has a subscriber or there is a logger', () => {
  let built = 0;
  const build = () => {
    built++;
    return { from: 'a:1', to: 'b:2', reason: 'unavailable' };
  };
  const d = new Diagnostics();
  d.publish('failover', build);
  expect(built).toBe(0);
  expect(d.listens('failover')).toBe(false);

  const heard: unknown[] = [];
  const sub = (m: unknown) => heard.push(m);
  diagnostics_channel.subscribe(CHANNELS.failover, sub);
  try {
    d.publish('failover', build);
  } finally {
    diagnostics_channel.unsubscribe(CHANNELS.failover, sub);
  }
  expect(built).toBe(1);
  expect(heard).toEqual([{ from: 'a:1', to: 'b:2', reason: 'unavailable' }]);

  const lines: unknown[][] = [];
  const log = (...a: unknown[]) => lines.push(a);
  new Diagnostics({ debug: log, info: log, warn: log, error: log }).publish('leaseLost', () => ({
    leaseId: 7n,
    reason: 'expired',
  }));
  expect(lines).toEqual([[{ leaseId: '7', reason: 'expired' }, 'concord-kv concord-kv:lease:lost']]);
});

test('unheard unary calls use the transport clients as they are; traced ones a proxy', async () => {
  const kv = { range: async () => ({ kvs: [] }) };
  const transport: Transport = {
    kind: 'memory',
    client: () => kv as never,
    streamMetadata: () => undefined,
    setToken() {},
    close() {},
  };
  const conns = new Connections({ endpoints: ['m:1'], timeoutMs: 1000, maxAttempts: 1 }, transport);
  let seen: unknown;
  await conns.unary('read', undefined, async (i) => {
    seen = conns.client(KVDefinition, i);
    return null;
  });
  expect(seen).toBe(kv);

  const ends: { method: string; key?: string }[] = [];
  const handlers = {
    start() {},
    end() {},
    asyncStart() {},
    asyncEnd: (m: unknown) => ends.push(m as { method: string }),
    error() {},
  };
  const tc = diagnostics_channel.tracingChannel(CHANNELS.request);
  tc.subscribe(handlers);
  try {
    await conns.unary('read', undefined, (i) =>
      conns.client(KVDefinition, i).range({ key: Buffer.from('k1') }, {}),
    );
  } finally {
    tc.unsubscribe(handlers);
    conns.close();
  }
  expect(ends).toEqual([
    expect.objectContaining({ method: 'etcdserverpb.KV/Range', key: 'k1', endpoint: 'm:1' }),
  ]);
});

test('keys are previewed as text, cut to 64 characters', () => {
  expect(keyPreview(new TextEncoder().encode('a/b'))).toBe('a/b');
  expect(keyPreview('x'.repeat(65))).toBe(`${'x'.repeat(64)}…`);
  expect(keyPreview(undefined)).toBeUndefined();
});
