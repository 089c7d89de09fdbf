/**
 * register()/discover() against real etcd: key layout and lease, close() removes at once,
 * re-registering replaces, a live view with events / async iteration / pickers, no gap between
 * the initial range and the watch, a SIGKILLed instance vanishing within its TTL as seen from
 * another process, signals, and processes exiting once everything is released.
 */
import { discover, type InstanceChange, RegistrationLostError, register } from '../../recipes/index.js';
import { sleep, waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'registry' });

test('layout: <root><service>/<id> holds {id,address,meta} on the lease; close() removes it at once', async () => {
  const reg = await register(
    etcd.client,
    'api',
    { id: 'a1', address: '10.0.0.1:80', meta: { zone: 'z1' } },
    { ttl: 5 },
  );
  expect(reg.key.toString()).toBe('services/api/a1');
  const kv = (await etcd.client.get('services/api/a1'))!;
  expect(kv.json()).toEqual({ id: 'a1', address: '10.0.0.1:80', meta: { zone: 'z1' } });
  expect(kv.lease).toBe(reg.lease.id);
  expect(reg.lease.ttl).toBe(5);

  const view = await discover(etcd.client, 'api');
  expect(view.instances()).toEqual([{ id: 'a1', address: '10.0.0.1:80', meta: { zone: 'z1' } }]);
  const removed = new Promise<string>((r) => view.once('remove', (i) => r(i.id)));
  await reg.close();
  // Gone at once: the lease was revoked, no TTL wait.
  expect(await etcd.client.get('services/api/a1')).toBeUndefined();
  expect((await etcd.client.leaseTimeToLive(reg.lease.id)).ttl).toBe(-1);
  expect(await withTimeout(removed, 3000, 'remove event')).toBe('a1');
  expect(view.instances()).toEqual([]);
  expect(reg.signal.aborted).toBe(true);
  await reg.close(); // idempotent
  view.close();
  expect(etcd.client.holding).toEqual({ watches: 0, leases: 0 });
});

test('custom root prefix; registering the same id again replaces it, and the old close() leaves the new one', async () => {
  const view = await discover(etcd.client, 'web', { prefix: 'reg/' });
  const seen: InstanceChange[] = [];
  view.on('change', (c) => seen.push(c));
  const first = await register(
    etcd.client,
    'web',
    { id: 'w1', address: 'old:1' },
    { prefix: 'reg/', ttl: 5 },
  );
  expect(await etcd.client.get('reg/web/w1')).toBeDefined();
  const second = await register(
    etcd.client,
    'web',
    { id: 'w1', address: 'new:2' },
    { prefix: 'reg/', ttl: 5 },
  );
  expect((await etcd.client.get('reg/web/w1'))!.json()).toEqual({ id: 'w1', address: 'new:2', meta: {} });
  expect((await etcd.client.get('reg/web/w1'))!.lease).toBe(second.lease.id);
  await first.close();
  expect((await etcd.client.get('reg/web/w1'))?.json()).toEqual({ id: 'w1', address: 'new:2', meta: {} });
  await waitFor(() => seen.length >= 2, { timeoutMs: 3000, what: 'add and update' });
  expect(seen.map((c) => [c.type, c.instance.address, c.previous?.address])).toEqual([
    ['add', 'old:1', undefined],
    ['update', 'new:2', 'old:1'],
  ]);
  // update() changes the value in place on the same lease.
  await second.update({ meta: { v: 2 } });
  await waitFor(() => view.get('w1')?.meta.v === 2, { timeoutMs: 3000, what: 'meta update' });
  await second.close();
  await waitFor(() => view.size === 0, { timeoutMs: 3000, what: 'removed' });
  await expect(second.update({ address: 'x:1' })).rejects.toBeInstanceOf(RegistrationLostError);
  view.close();
});

test('discover: add/update/remove events, async iteration, round robin and random picks', async () => {
  const regs = await Promise.all(
    ['b', 'a', 'c'].map((id) => register(etcd.client, 'pick', { id, address: `${id}:1` }, { ttl: 5 })),
  );
  const view = await discover(etcd.client, 'pick');
  expect(view.instances().map((i) => i.id)).toEqual(['a', 'b', 'c']);
  expect([1, 2, 3, 4, 5, 6].map(() => view.pick.roundRobin()!.id)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  const randomIds = new Set(Array.from({ length: 200 }, () => view.pick.random()!.id));
  expect([...randomIds].sort()).toEqual(['a', 'b', 'c']);

  const iterated: string[] = [];
  const loop = (async () => {
    for await (const c of view) {
      iterated.push(`${c.type}:${c.instance.id}`);
      if (iterated.length === 3) break;
    }
  })();
  const events: string[] = [];
  view.on('add', (i) => events.push(`add:${i.id}`));
  view.on('update', (i) => events.push(`update:${i.id}`));
  view.on('remove', (i) => events.push(`remove:${i.id}`));
  const d = await register(etcd.client, 'pick', { id: 'd', address: 'd:1' }, { ttl: 5 });
  await regs[0]!.update({ address: 'b:2' });
  await regs[2]!.close();
  await withTimeout(loop, 5000, 'three iterated changes');
  expect(iterated).toEqual(['add:d', 'update:b', 'remove:c']);
  expect(events).toEqual(['add:d', 'update:b', 'remove:c']);
  expect(view.instances().map((i) => `${i.id}=${i.address}`)).toEqual(['a=a:1', 'b=b:2', 'd=d:1']);
  // A malformed value written by hand is ignored, not fatal.
  await etcd.client.put('services/pick/junk', 'not json');
  await sleep(200);
  expect(view.get('junk')).toBeUndefined();

  view.close();
  expect(view.closed).toBe(true);
  // Iterating a closed view ends at once.
  const after: unknown[] = [];
  for await (const c of view) after.push(c);
  expect(after).toEqual([]);
  await Promise.all([d.close(), regs[0]!.close(), regs[1]!.close()]);
  await etcd.client.delete('services/pick/junk');
});

test('no gap: a view opened amid a stream of writes converges to the store, and its events replay to it', async () => {
  let stop = false;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      const id = `i${i % 7}`;
      if (i % 3 === 2) await etcd.client.delete(`services/churn/${id}`);
      else await etcd.client.putJSON(`services/churn/${id}`, { id, address: `h:${i}`, meta: {} });
    }
  })();
  await sleep(100);
  const view = await discover(etcd.client, 'churn');
  const replay = new Map(view.instances().map((i) => [i.id, i.address]));
  view.on('change', (c) => {
    if (c.type === 'remove') replay.delete(c.instance.id);
    else replay.set(c.instance.id, c.instance.address);
  });
  await sleep(500);
  stop = true;
  await writer;
  const final = await etcd.client.range({ prefix: 'services/churn/' });
  const expected = new Map(
    final.kvs.map((kv) => [kv.key.toString().split('/')[2]!, kv.json<{ address: string }>().address]),
  );
  await waitFor(() => view.revision >= final.header.revision, { timeoutMs: 5000, what: 'view to catch up' });
  expect(new Map(view.instances().map((i) => [i.id, i.address]))).toEqual(expected);
  expect(replay).toEqual(expected);
  view.close();
  await etcd.client.delete({ prefix: 'services/churn/' });
});

test('an instance SIGKILLed vanishes within TTL + 1 s, as seen by a view in another process', async () => {
  const inst = etcd.fixture('registry-instance.mjs', {
    SERVICE: 'crash',
    ID: 'victim',
    TTL: '2',
    ADDRESS: 'v:1',
  });
  await waitFor(() => inst.lines.length > 0, { timeoutMs: 10_000, what: 'instance to register' });
  expect(inst.lines[0]).toBe('registered services/crash/victim');
  const watcher = etcd.fixture('registry-watcher.mjs', { SERVICE: 'crash' });
  await waitFor(() => watcher.lines.length > 0, { timeoutMs: 10_000, what: 'watcher to load' });
  expect(watcher.lines[0]).toBe('initial victim');
  // The TTL is 2 s: the key must outlive a second of silence while the process runs.
  await sleep(1000);
  expect(watcher.lines).toEqual(['initial victim']);
  const killedAt = performance.now();
  inst.child.kill('SIGKILL');
  await waitFor(() => watcher.lines.length > 1, { timeoutMs: 10_000, what: 'watcher to see the removal' });
  const elapsed = watcher.times[1]! - killedAt;
  expect(watcher.lines[1]).toBe('remove victim v:1');
  expect(elapsed).toBeLessThan(3000);
  expect(await etcd.client.get('services/crash/victim')).toBeUndefined();
}, 30_000);

test('signals: aborting closes a registration and a view; validation errors are clear', async () => {
  const ac = new AbortController();
  const reg = await register(etcd.client, 'sig', { id: 's1', address: 's:1' }, { ttl: 5, signal: ac.signal });
  const vac = new AbortController();
  const view = await discover(etcd.client, 'sig', { signal: vac.signal });
  expect(view.size).toBe(1);
  ac.abort();
  await waitFor(async () => (await etcd.client.get('services/sig/s1')) === undefined, {
    timeoutMs: 3000,
    what: 'registration closed by its signal',
  });
  await waitFor(() => view.size === 0, { timeoutMs: 3000, what: 'view to see it' });
  expect(reg.signal.aborted).toBe(true);
  vac.abort();
  expect(view.closed).toBe(true);
  await expect(
    register(etcd.client, 'sig', { id: 's1', address: 's:1' }, { signal: AbortSignal.abort() }),
  ).rejects.toThrow();
  expect(await etcd.client.get('services/sig/s1')).toBeUndefined();

  await expect(register(etcd.client, 'a/b', { id: 'x', address: 'h:1' })).rejects.toThrow(
    /service name.*without '\/'/,
  );
  await expect(register(etcd.client, 'svc', { id: '', address: 'h:1' })).rejects.toThrow(/instance id/);
  await expect(register(etcd.client, 'svc', { id: 'x', address: '' })).rejects.toThrow(/address/);
  await expect(discover(etcd.client, '')).rejects.toThrow(/service name/);
  expect(etcd.client.holding).toEqual({ watches: 0, leases: 0 });
});

test('a process that releases its registration and view exits by itself (client left open)', async () => {
  const p = etcd.fixture('registry-exit.mjs');
  const code = await withTimeout(p.exited, 10_000, 'process to exit by itself');
  expect({ code, stderr: p.stderr() }).toEqual({ code: 0, stderr: '' });
  expect(p.lines).toEqual(['seen x1', 'released {"watches":0,"leases":0}']);
});

test('examples/registry.ts runs and exits', async () => {
  const { stdout, stderr } = await etcd.example('registry', 15_000);
  expect(stderr).toBe('');
  expect(stdout).toContain('instances: api-1@127.0.0.1:8081, api-2@127.0.0.1:8082');
  expect(stdout).toContain('round robin: api-1, api-2, api-1, api-2');
  expect(stdout).toContain('remove api-2');
});
