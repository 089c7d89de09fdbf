/**
 * flags()/flagsAdmin() and the OpenFeature provider against real etcd: validation, typed
 * evaluation that never throws, rules, a stable percentage rollout, change events through the
 * watch (50 readers), stale while the only member is down and back after it restarts, and
 * processes exiting once the reader is closed.
 */
import net from 'node:net';
import { OpenFeature, ProviderEvents, ProviderStatus } from '@openfeature/server-sdk';
import {
  type FlagChange,
  type FlagDefinition,
  flags,
  flagsAdmin,
  InvalidFlagError,
  rolloutBucket,
  splitVariant,
} from '../../recipes/flags.js';
import { ConcordFlagProvider } from '../../recipes/openfeature.js';
import { sleep, waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'flags' });

test('admin: set validates and stores JSON at <prefix><name>; get, list, delete', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'adm/' });
  const def: FlagDefinition<boolean> = {
    type: 'boolean',
    value: false,
    rules: [{ attribute: 'plan', op: 'eq', value: 'pro', serve: true }],
    rollout: { percentage: 10, serve: true },
  };
  const rev = await admin.set('checkout', def);
  const kv = (await etcd.client.get('adm/checkout'))!;
  expect(kv.json()).toEqual(def);
  expect(kv.modRevision).toBe(rev);

  const bad = async (d: unknown) => {
    try {
      await admin.set('bad', d as FlagDefinition);
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidFlagError);
      return (e as Error).message;
    }
    throw new Error(`accepted ${JSON.stringify(d)}`);
  };
  expect(await bad({ type: 'bool', value: true })).toBe(
    'invalid flag "bad": type: must be one of boolean, string, number, json, got "bool"',
  );
  expect(await bad({ type: 'number', value: '3' })).toBe(
    'invalid flag "bad": value: must be a finite number (the flag\'s type is number), got "3"',
  );
  expect(await bad({ type: 'string' })).toMatch(/value: required/);
  const many = await bad({
    type: 'string',
    value: 'a',
    enabled: 'yes',
    colour: 1,
    rules: [
      { attribute: 'x', op: 'like', value: 1, serve: 'b' },
      { attribute: '', op: 'in', value: 'FR', serve: 2 },
    ],
    rollout: { percentage: 120, serve: 'c' },
  });
  expect(many).toContain('colour: unknown field');
  expect(many).toContain('enabled: must be a boolean, got "yes"');
  expect(many).toContain('rules[0].op: unknown operator "like" (expected one of eq, neq, in, notIn');
  expect(many).toContain('rules[1].attribute: must be a non-empty string');
  expect(many).toContain('rules[1].value: in needs an array, got "FR"');
  expect(many).toContain('rules[1].serve: must be a string');
  expect(many).toContain('rollout.percentage: must be a number from 0 to 100, got 120');
  expect(
    await bad({
      type: 'boolean',
      value: true,
      rules: [{ attribute: 'a', op: 'matches', value: '(', serve: true }],
    }),
  ).toMatch(/rules\[0\]\.value: invalid regular expression/);
  expect(await etcd.client.get('adm/bad')).toBeUndefined();

  await etcd.client.put('adm/broken', '{not json');
  const list = await admin.list();
  expect(list.map((e) => [e.name, e.definition !== undefined, e.error?.slice(0, 8)])).toEqual([
    ['broken', false, 'not JSON'],
    ['checkout', true, undefined],
  ]);
  expect((await admin.get('checkout'))?.definition).toEqual(def);
  expect(await admin.get('nope')).toBeUndefined();
  expect(await admin.delete('broken')).toBe(true);
  expect(await admin.delete('broken')).toBe(false);
  expect((await admin.list()).map((e) => e.name)).toEqual(['checkout']);
});

test('evaluation is typed, synchronous after ready(), and never throws', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'ev/' });
  await admin.set('on', { type: 'boolean', value: true });
  await admin.set('color', { type: 'string', value: 'blue' });
  await admin.set('limit', { type: 'number', value: 42 });
  await admin.set('conf', { type: 'json', value: { a: [1, 2] } });
  await admin.set('off', { type: 'boolean', value: true, enabled: false });
  await etcd.client.put('ev/garbage', '{"type":');
  await etcd.client.putJSON('ev/invalid', { type: 'boolean', value: 'yes' });

  const f = flags(etcd.client, { prefix: 'ev/' });
  // Before ready(): the default, with the reason.
  expect(f.getBooleanDetails('on', false)).toMatchObject({
    value: false,
    reason: 'ERROR',
    errorCode: 'PROVIDER_NOT_READY',
  });
  await f.ready();
  expect(f.getBoolean('on', false)).toBe(true);
  expect(f.getString('color', 'red')).toBe('blue');
  expect(f.getNumber('limit', 1)).toBe(42);
  expect(f.getJSON('conf', {})).toEqual({ a: [1, 2] });
  expect(f.getBooleanDetails('on', false)).toMatchObject({
    value: true,
    reason: 'STATIC',
    variant: 'value',
    stale: false,
  });
  expect(f.getBooleanDetails('off', false)).toMatchObject({
    value: false,
    reason: 'DISABLED',
    variant: 'disabled',
  });
  expect(f.getStringDetails('missing', 'd')).toMatchObject({
    value: 'd',
    reason: 'ERROR',
    errorCode: 'FLAG_NOT_FOUND',
  });
  expect(f.getStringDetails('on', 'd')).toMatchObject({
    value: 'd',
    errorCode: 'TYPE_MISMATCH',
    errorMessage: 'flag "on" is of type boolean, asked for string',
  });
  expect(f.getNumberDetails('garbage', 7)).toMatchObject({ value: 7, errorCode: 'PARSE_ERROR' });
  expect(f.getBooleanDetails('invalid', false)).toMatchObject({ value: false, errorCode: 'PARSE_ERROR' });
  expect(f.getBooleanDetails('invalid', false).errorMessage).toMatch(/value: must be a boolean/);
  // Hostile contexts do not throw either.
  expect(f.getBoolean('on', false, null as never)).toBe(true);
  expect(f.names()).toEqual(['color', 'conf', 'garbage', 'invalid', 'limit', 'off', 'on']);
  f.close();
  // A closed reader keeps serving the last values.
  expect(f.getNumber('limit', 1)).toBe(42);
});

test('rules by attribute, first match wins; rollout by a stable hash; 10 % of 10,000 keys within ±1 %', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'rules/' });
  await admin.set('tier', {
    type: 'string',
    value: 'basic',
    rules: [
      { attribute: 'targetingKey', op: 'in', value: ['vip-1', 'vip-2'], serve: 'vip' },
      { attribute: 'email', op: 'endsWith', value: '@corp.example', serve: 'staff' },
      { attribute: 'account.country', op: 'startsWith', value: 'F', serve: 'f-country' },
      { attribute: 'age', op: 'gte', value: 65, serve: 'senior' },
      { attribute: 'name', op: 'matches', value: '^bot-\\d+$', serve: 'bot' },
      { attribute: 'groups', op: 'contains', value: 'beta', serve: 'beta' },
      { attribute: 'plan', op: 'neq', value: 'free', serve: 'paying' },
    ],
  });
  await admin.set('rollout10', { type: 'boolean', value: false, rollout: { percentage: 10, serve: true } });
  await admin.set('split', {
    type: 'string',
    value: 'control',
    rollout: { percentage: 50, serve: 'treatment', otherwise: 'holdout' },
  });
  const f = flags(etcd.client, { prefix: 'rules/' });
  await f.ready();
  const tier = (ctx: Record<string, unknown>) => f.getStringDetails('tier', 'x', ctx);
  expect(tier({ targetingKey: 'vip-2', email: 'a@corp.example' })).toMatchObject({
    value: 'vip',
    reason: 'TARGETING_MATCH',
    variant: 'rules[0]',
  });
  expect(tier({ targetingKey: 'u', email: 'a@corp.example' }).value).toBe('staff');
  expect(tier({ account: { country: 'FR' } }).value).toBe('f-country');
  expect(tier({ age: 70 }).value).toBe('senior');
  expect(tier({ age: '70' }).value).toBe('basic');
  expect(tier({ name: 'bot-12' }).value).toBe('bot');
  expect(tier({ groups: ['alpha', 'beta'] }).value).toBe('beta');
  expect(tier({ plan: 'team' }).value).toBe('paying');
  // An absent attribute never matches, not even neq.
  expect(tier({})).toMatchObject({ value: 'basic', reason: 'DEFAULT', variant: 'value' });

  let on = 0;
  for (let i = 0; i < 10_000; i++) if (f.getBoolean('rollout10', false, { targetingKey: `user-${i}` })) on++;
  expect(on).toBeGreaterThanOrEqual(900);
  expect(on).toBeLessThanOrEqual(1100);
  // Stable: the same key gets the same answer from another reader, and it is the documented hash.
  const g = flags(etcd.newClient(), { prefix: 'rules/' });
  await g.ready();
  for (let i = 0; i < 200; i++) {
    const key = `user-${i}`;
    const inside = rolloutBucket('rollout10', key) < 10;
    expect(f.getBoolean('rollout10', false, { targetingKey: key })).toBe(inside);
    expect(g.getBoolean('rollout10', false, { targetingKey: key })).toBe(inside);
  }
  expect(f.getBooleanDetails('rollout10', false, { targetingKey: 'user-1' }).reason).toBe('SPLIT');
  // Without a targeting key, a rollout serves `otherwise` (default: `value`).
  expect(f.getBooleanDetails('rollout10', true)).toMatchObject({ value: false, reason: 'DEFAULT' });
  const variants = new Set(
    Array.from({ length: 100 }, (_, i) => f.getString('split', '', { targetingKey: `k${i}` })),
  );
  expect([...variants].sort()).toEqual(['holdout', 'treatment']);
  expect(f.getStringDetails('split', '')).toMatchObject({ value: 'holdout', variant: 'otherwise' });
  f.close();
  g.close();
});

test('variants, nested conditions and semver: an edit through flagsAdmin is served by a reader and by OpenFeature', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'var/' });
  const theme: FlagDefinition<string> = {
    type: 'string',
    variants: { light: 'L', dark: 'D', contrast: 'C' },
    defaultVariant: 'light',
    rules: [
      {
        all: [
          { attribute: 'app', op: 'semverGte', value: '2.0.0-rc.1' },
          { not: { attribute: 'country', op: 'in', value: ['US'] } },
        ],
        variant: 'dark',
      },
      { attribute: 'beta', op: 'eq', value: true, split: { dark: 50, contrast: 50 } },
    ],
  };
  await admin.set('theme', theme);
  const f = flags(etcd.newClient(), { prefix: 'var/' });
  await f.ready();
  const provider = new ConcordFlagProvider(f);
  await OpenFeature.setProviderAndWait('variants-test', provider);
  const of = OpenFeature.getClient('variants-test');
  try {
    expect(f.getStringDetails('theme', 'x', { app: '2.0.0', country: 'FR' })).toMatchObject({
      value: 'D',
      variant: 'dark',
      reason: 'TARGETING_MATCH',
    });
    // A prerelease below the bound, or the excluded country: no match.
    expect(f.getString('theme', 'x', { app: '2.0.0-beta.9', country: 'FR' })).toBe('L');
    expect(f.getString('theme', 'x', { app: '3.1.0', country: 'US' })).toBe('L');
    const seen = new Set(
      Array.from({ length: 60 }, (_, i) => f.getString('theme', 'x', { beta: true, targetingKey: `u${i}` })),
    );
    expect([...seen].sort()).toEqual(['C', 'D']);
    expect(await of.getStringDetails('theme', 'x', { targetingKey: 'u', app: '2.0.0' })).toMatchObject({
      value: 'D',
      variant: 'dark',
      reason: 'TARGETING_MATCH',
    });
    expect(await of.getStringDetails('theme', 'x', {})).toMatchObject({
      value: 'L',
      variant: 'light',
      reason: 'DEFAULT',
    });

    // The edit: a weighted default split; the reader picks it up through its watch.
    const changed = new Promise<FlagChange>((r) => f.once('change', r));
    const { defaultVariant: _, ...rest } = theme;
    await admin.set('theme', { ...rest, split: { light: 60, dark: 30, contrast: 10 } });
    await withTimeout(changed, 5000, 'the edit reaches the reader');
    const key = 'user-42';
    const want = splitVariant({ light: 60, dark: 30, contrast: 10 }, rolloutBucket('theme', key));
    expect(await of.getStringDetails('theme', 'x', { targetingKey: key })).toMatchObject({
      variant: want,
      reason: 'SPLIT',
    });
    expect(f.getStringDetails('theme', 'x', {})).toMatchObject({ variant: 'light', reason: 'DEFAULT' });
  } finally {
    await OpenFeature.close();
    f.close();
  }
});

test('changes arrive through the watch: events, async iteration, fresh values; deletes too', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'ch/' });
  await admin.set('a', { type: 'number', value: 1 });
  const f = flags(etcd.client, { prefix: 'ch/' });
  await f.ready();
  const events: FlagChange[] = [];
  f.on('change', (c) => events.push(c));
  const iterated: string[][] = [];
  const loop = (async () => {
    for await (const c of f.changes()) {
      iterated.push(c.flags);
      if (iterated.length === 3) break;
    }
  })();
  const rev = await admin.set('a', { type: 'number', value: 2 });
  await admin.set('b', { type: 'string', value: 'x' });
  await admin.delete('a');
  await withTimeout(loop, 5000, 'three changes iterated');
  expect(iterated).toEqual([['a'], ['b'], ['a']]);
  expect(events.map((e) => e.flags)).toEqual([['a'], ['b'], ['a']]);
  expect(events[0]!.revision).toBe(rev);
  expect(f.getNumberDetails('a', 0).errorCode).toBe('FLAG_NOT_FOUND');
  expect(f.getString('b', '')).toBe('x');
  f.close();
  expect(etcd.client.holding.watches).toBe(0);
});

test('signal and deadline: aborting closes a reader; ready() gives up after timeoutMs', async () => {
  const ac = new AbortController();
  const f = flags(etcd.client, { prefix: 'ch/', signal: ac.signal });
  await f.ready();
  const closed = new Promise<void>((r) => f.once('close', r));
  ac.abort();
  await withTimeout(closed, 1000, 'close event');
  expect(f.closed).toBe(true);
  expect(etcd.client.holding.watches).toBe(0);
  await expect(flags(etcd.client, { signal: AbortSignal.abort() }).ready()).rejects.toThrow();

  const nowhere = etcd.newClient(['127.0.0.1:1']);
  const t0 = performance.now();
  await expect(flags(nowhere, { timeoutMs: 300 }).ready()).rejects.toThrow(/deadline/);
  expect(performance.now() - t0).toBeLessThan(3000);
});

test('50 readers, each on its own client, all receive a change through their watches', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'fifty/' });
  await admin.set('f', { type: 'boolean', value: false });
  const readers = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const r = flags(etcd.newClient(), { prefix: 'fifty/' });
      await r.ready();
      return r;
    }),
  );
  expect(readers.every((r) => r.getBoolean('f', true) === false)).toBe(true);
  const got = readers.map((r) => new Promise<FlagChange>((res) => r.once('change', res)));
  const rev = await admin.set('f', { type: 'boolean', value: true });
  const changes = await withTimeout(Promise.all(got), 10_000, 'all 50 readers notified');
  expect(changes.every((c) => c.revision === rev && c.flags[0] === 'f')).toBe(true);
  expect(readers.every((r) => r.getBoolean('f', false) === true)).toBe(true);
  for (const r of readers) r.close();
}, 30_000);

test('OpenFeature: provider resolves with context, reports details, and emits configuration changes', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'of/' });
  await admin.set('beta', {
    type: 'boolean',
    value: false,
    rules: [{ attribute: 'country', op: 'in', value: ['FR', 'BE'], serve: true }],
  });
  await admin.set('banner', { type: 'string', value: 'hello' });
  await admin.set('conf', { type: 'json', value: { retries: 3 } });
  const provider = new ConcordFlagProvider(etcd.newClient(), { prefix: 'of/' });
  await OpenFeature.setProviderAndWait(provider);
  try {
    const of = OpenFeature.getClient();
    expect(of.providerStatus).toBe(ProviderStatus.READY);
    expect(await of.getBooleanValue('beta', false, { targetingKey: 'u1', country: 'FR' })).toBe(true);
    expect(await of.getBooleanValue('beta', false, { targetingKey: 'u2', country: 'US' })).toBe(false);
    const d = await of.getBooleanDetails('beta', false, { targetingKey: 'u1', country: 'BE' });
    expect(d).toMatchObject({ value: true, reason: 'TARGETING_MATCH', variant: 'rules[0]', flagKey: 'beta' });
    expect(d.flagMetadata).toMatchObject({ stale: false });
    expect(await of.getStringValue('banner', 'x')).toBe('hello');
    expect(await of.getObjectValue('conf', {})).toEqual({ retries: 3 });
    expect(await of.getNumberDetails('missing', 5)).toMatchObject({ value: 5, errorCode: 'FLAG_NOT_FOUND' });
    expect(await of.getNumberDetails('banner', 5)).toMatchObject({ value: 5, errorCode: 'TYPE_MISMATCH' });

    const changed = new Promise<string[] | undefined>((resolve) =>
      of.addHandler(ProviderEvents.ConfigurationChanged, (e) => resolve(e?.flagsChanged)),
    );
    await admin.set('banner', { type: 'string', value: 'bonjour' });
    expect(await withTimeout(changed, 5000, 'configuration changed event')).toEqual(['banner']);
    expect(await of.getStringValue('banner', 'x')).toBe('bonjour');
  } finally {
    await OpenFeature.close();
  }
  expect(provider.flags.closed).toBe(true);
});

test('a process whose reader is closed exits by itself (client left open)', async () => {
  await flagsAdmin(etcd.client, { prefix: 'exit/' }).set('go', { type: 'boolean', value: true });
  const p = etcd.fixture('flags-exit.mjs', { PREFIX: 'exit/', FLAG: 'go' });
  const code = await withTimeout(p.exited, 10_000, 'process to exit by itself');
  expect({ code, stderr: p.stderr() }).toEqual({ code: 0, stderr: '' });
  expect(p.lines).toEqual(['value true', 'released {"watches":0,"leases":0}']);
});

test('examples/flags.ts runs and exits', async () => {
  const { stdout, stderr } = await etcd.example('flags', 15_000);
  expect(stderr).toBe('');
  expect(stdout).toContain('rejected: invalid flag "bad": value: must be a finite number');
  expect(stdout).toContain('staff: true (TARGETING_MATCH, rules[0])');
  expect(stdout).toMatch(/rollout: \d+ of 1000 users get it/);
  expect(stdout).toContain('missing: fallback (FLAG_NOT_FOUND)');
  expect(stdout).toContain('after change: true');
});

/** A TCP proxy to the member that the test can cut (every connection dropped, port closed) and restore. */
async function cuttableProxy(target: string) {
  const [host, port] = target.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let listenPort = 0;
  const open = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((c) => {
        const up = net.connect(Number(port), host);
        for (const s of [c, up]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        c.pipe(up).pipe(c);
      });
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => {
        listenPort = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await open();
  return {
    endpoint: () => `127.0.0.1:${listenPort}`,
    cut: async () => {
      const closed = new Promise<void>((r) => server!.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    restore: open,
  };
}

test('a reader cut off from the cluster goes stale, misses a change, then catches up when reconnected', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'cut/' });
  await admin.set('c', { type: 'number', value: 1 });
  const proxy = await cuttableProxy(etcd.cluster.endpoints[0]!);
  const reader = etcd.newClient([proxy.endpoint()]);
  const f = flags(reader, { prefix: 'cut/', heartbeatMs: 200 });
  await f.ready();
  const changes: FlagChange[] = [];
  f.on('change', (c) => changes.push(c));
  try {
    await proxy.cut();
    await waitFor(() => f.stale, { timeoutMs: 5000, what: 'reader to report stale' });
    const rev = await admin.set('c', { type: 'number', value: 2 });
    await sleep(300);
    expect(f.getNumberDetails('c', 0)).toMatchObject({ value: 1, stale: true });
    await proxy.restore();
    await waitFor(() => !f.stale, { timeoutMs: 15_000, what: 'reader to be fresh again' });
    // Fresh means caught up with the member serving the watch. etcd 3.4.23 (the reference here)
    // can answer the resumed watch's progress request before the replayed events
    // (etcd-io/etcd#15220, fixed in 3.4.25), so the change is waited for, then reported once.
    await waitFor(() => f.getNumber('c', 0) === 2, { timeoutMs: 5000, what: 'the missed change' });
    expect(f.getNumberDetails('c', 0)).toMatchObject({ value: 2, stale: false });
    expect(f.revision).toBeGreaterThanOrEqual(rev);
    await sleep(300);
    expect(changes.map((c) => c.flags)).toEqual([['c']]);
    expect(changes[0]!.revision).toBeGreaterThanOrEqual(rev);
  } finally {
    f.close();
    reader.close();
    await proxy.cut();
  }
}, 30_000);

// Last: it kills and restarts the only member.
test('stale while the member is down (last values still served), fresh again after restart and catch-up', async () => {
  const admin = flagsAdmin(etcd.client, { prefix: 'st/' });
  await admin.set('s', { type: 'string', value: 'v1' });
  const f = flags(etcd.newClient(), { prefix: 'st/', heartbeatMs: 200 });
  await f.ready();
  const staleEvents: boolean[] = [];
  f.on('stale', (s) => staleEvents.push(s));
  const provider = new ConcordFlagProvider(f);
  await OpenFeature.setProviderAndWait('stale-test', provider);
  const of = OpenFeature.getClient('stale-test');
  try {
    await sleep(500);
    expect(f.stale).toBe(false);
    await etcd.cluster.kill(0);
    await waitFor(() => f.stale, { timeoutMs: 5000, what: 'reader to report stale' });
    expect(f.getStringDetails('s', 'd')).toMatchObject({ value: 'v1', stale: true, reason: 'STATIC' });
    await waitFor(() => of.providerStatus === ProviderStatus.STALE, {
      timeoutMs: 2000,
      what: 'provider STALE',
    });
    expect((await of.getStringDetails('s', 'd')).flagMetadata).toMatchObject({ stale: true });
    expect(await of.getStringValue('s', 'd')).toBe('v1');

    await etcd.cluster.restart(0);
    await waitFor(() => !f.stale, { timeoutMs: 15_000, what: 'reader to be fresh again' });
    await waitFor(() => of.providerStatus === ProviderStatus.READY, {
      timeoutMs: 2000,
      what: 'provider READY',
    });
    // (A loaded machine may add a spurious flip in between; the first and the last are what matter.)
    expect(staleEvents[0]).toBe(true);
    expect(staleEvents.at(-1)).toBe(false);
    const changed = new Promise<FlagChange>((r) => f.once('change', r));
    await admin.set('s', { type: 'string', value: 'v2' });
    await withTimeout(changed, 10_000, 'change after restart');
    expect(f.getStringDetails('s', 'd')).toMatchObject({ value: 'v2', stale: false });
  } finally {
    await OpenFeature.close();
    f.close();
  }
}, 40_000);
