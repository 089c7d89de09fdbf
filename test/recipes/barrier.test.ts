/**
 * barrier() and doubleBarrier() against real etcd, with several processes and clients: waiters
 * pass only once the barrier is released; double-barrier participants enter only once all have
 * arrived and leave only once all are leaving, a crashed participant does not block leaving,
 * an extra participant is refused; and the example runs.
 */
import { BarrierTimeoutError, barrier, DoubleBarrierFullError, doubleBarrier } from '../../recipes/index.js';
import { sleep, waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'barrier' });

/** Runs test/fixtures/barrier-participant.mjs; `events()` are the JSON lines it has printed. */
function participant(env: Record<string, string>) {
  const p = etcd.fixture('barrier-participant.mjs', env);
  const events = () => p.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { ...p, events };
}

test('barrier: waiters in other processes and clients pass only once it is released', async () => {
  const b = barrier(etcd.client, 'gate');
  expect(await b.hold()).toBe(true);
  expect(await b.hold()).toBe(false);
  expect(await b.isHeld()).toBe(true);
  const procs = [
    participant({ MODE: 'wait', BARRIER: 'gate' }),
    participant({ MODE: 'wait', BARRIER: 'gate' }),
  ];
  let passed = 0;
  const inProc = [etcd.newClient(), etcd.newClient()].map((c) =>
    barrier(c, 'gate')
      .wait()
      .then(() => passed++),
  );
  await waitFor(() => procs.every((p) => p.lines.includes('waiting')), {
    timeoutMs: 10_000,
    what: 'waiters',
  });
  await sleep(500);
  expect(passed).toBe(0);
  expect(procs.map((p) => p.lines.includes('passed'))).toEqual([false, false]);
  expect(await b.release()).toBe(true);
  await withTimeout(Promise.all(inProc), 5000, 'in-process waiters');
  expect(await withTimeout(Promise.all(procs.map((p) => p.exited)), 10_000, 'waiter processes')).toEqual([
    0, 0,
  ]);
  expect(procs.map((p) => p.lines.at(-1))).toEqual(['passed', 'passed']);
  expect(await b.release()).toBe(false);
  // Down: wait() returns at once.
  await withTimeout(b.wait(), 1000, 'wait on a lowered barrier');
});

test('barrier: on a lease it falls when the lease ends; waitTimeoutMs and abort', async () => {
  const b = barrier(etcd.client, 'gate2');
  const lease = await etcd.client.lease({ ttl: 10 });
  await b.hold({ lease });
  await expect(b.wait({ waitTimeoutMs: 300 })).rejects.toBeInstanceOf(BarrierTimeoutError);
  const ac = new AbortController();
  const aborted = b.wait({ signal: ac.signal });
  ac.abort();
  await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
  const waiting = barrier(etcd.newClient(), 'gate2').wait();
  await sleep(200);
  await lease.revoke();
  await withTimeout(waiting, 5000, 'waiter after the lease ended');
  expect(await b.isHeld()).toBe(false);
});

test('double barrier: 4 processes enter only once all arrived, leave only once all are leaving', async () => {
  const env = (id: number) => ({
    BARRIER: 'db',
    COUNT: '4',
    RUN: 'db-run',
    ID: String(id),
    LEAVE_DELAY_MS: String(id * 300),
  });
  const procs = [0, 1, 2].map((i) => participant(env(i)));
  await waitFor(async () => (await etcd.client.count({ prefix: 'db/waiters/' })) === 3n, {
    timeoutMs: 15_000,
    what: '3 participants in',
  });
  await sleep(500);
  expect(procs.flatMap((p) => p.events())).toEqual([]);
  procs.push(participant(env(3)));
  const codes = await withTimeout(Promise.all(procs.map((p) => p.exited)), 20_000, 'participants');
  for (const [i, c] of codes.entries())
    expect({ i, c, err: c === 0 ? '' : procs[i]!.stderr() }).toEqual({ i, c: 0, err: '' });
  for (const p of procs) {
    expect(p.events()).toEqual([
      { event: 'entered', arrived: 4 },
      { event: 'left', leaving: 4 },
    ]);
  }
  expect(await etcd.client.count({ prefix: 'db/' })).toBe(0n);
}, 40_000);

test('double barrier: a participant killed inside does not block the others from leaving', async () => {
  const p = participant({ BARRIER: 'crash', COUNT: '2', RUN: 'crash-run', ID: 'p', STAY: '1', TTL: '2' });
  const mine = doubleBarrier(etcd.client, 'crash', 2, { ttl: 10 });
  await withTimeout(mine.enter(), 15_000, 'enter');
  await waitFor(() => p.events().length > 0, { what: 'the process entered' });
  const leaving = mine.leave();
  await sleep(500);
  let left = false;
  leaving.then(() => {
    left = true;
  });
  await sleep(100);
  // The other participant is alive and has not left: leave() waits for it.
  expect(left).toBe(false);
  p.child.kill('SIGKILL');
  await withTimeout(leaving, 10_000, 'leave after the crash');
  expect(await etcd.client.count({ prefix: 'crash/' })).toBe(0n);
}, 30_000);

test('double barrier: one participant too many is refused; timeouts leave nothing behind', async () => {
  const [a, b, c] = [etcd.newClient(), etcd.newClient(), etcd.newClient()].map((x) =>
    doubleBarrier(x, 'full', 2, { ttl: 10 }),
  );
  await withTimeout(Promise.all([a!.enter(), b!.enter()]), 5000, 'two enter');
  await expect(c!.enter()).rejects.toBeInstanceOf(DoubleBarrierFullError);
  expect(await etcd.client.count({ prefix: 'full/waiters/' })).toBe(2n);
  await withTimeout(Promise.all([a!.leave(), b!.leave()]), 5000, 'two leave');
  expect(await etcd.client.count({ prefix: 'full/' })).toBe(0n);
  // await using drops out at once (without leaving: `ready` stays behind).
  {
    await using d = doubleBarrier(etcd.client, 'full', 1, { ttl: 10 });
    await d.enter();
    expect(await etcd.client.count({ prefix: 'full/waiters/' })).toBe(1n);
  }
  expect(await etcd.client.count({ prefix: 'full/waiters/' })).toBe(0n);
  expect(await etcd.client.count('full/ready')).toBe(1n);
  // A new round does not pass on the old round's `ready`; a timed-out enter leaves nothing.
  const lone = doubleBarrier(etcd.client, 'full', 2, { ttl: 10 });
  await expect(lone.enter({ waitTimeoutMs: 300 })).rejects.toBeInstanceOf(BarrierTimeoutError);
  expect(await etcd.client.count({ prefix: 'full/waiters/' })).toBe(0n);
});

test('examples/barrier runs and prints what it promises', async () => {
  expect((await etcd.example('barrier')).lines).toEqual([
    'gate raised: true',
    'workers through while the gate is up: 0',
    'workers through after release: 3',
    'stage started only once all 3 had arrived: true',
    'stage ended only once all 3 were done: true',
  ]);
});
