/**
 * elect()/observe() against real etcd: succession, proclaim, resign, interop with
 * `etcdctl elect`, and failover seen by an observer when the leader process is killed.
 */
import {
  ElectionNotLeaderError,
  elect,
  type Leader,
  LeadershipLostError,
  observe,
} from '../../recipes/index.js';
import { Client } from '../../src/index.js';
import { sleep, waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { spawnTracked } from '../harness/fixtures.js';

const etcd = etcdSuite({ members: 1, name: 'elect' });

/** Collects what observe() yields into an array until aborted. */
function collect(name: string) {
  const ac = new AbortController();
  const seen: Leader[] = [];
  const done = (async () => {
    try {
      for await (const l of observe(etcd.client, name, { signal: ac.signal })) seen.push(l);
    } catch (e) {
      if ((e as Error).name !== 'AbortError') throw e;
    }
  })();
  const stop = () => {
    ac.abort();
    return done;
  };
  return { seen, stop };
}

test('succession: first campaigner leads, the next takes over on resign; proclaim', async () => {
  const a = elect(etcd.client, 'e1', { value: 'a', ttl: 10 });
  const b = elect(etcd.client, 'e1', { value: 'b', ttl: 10 });
  await a.campaign();
  expect((await a.leader())?.text()).toBe('a');
  let bLeads = false;
  const bp = b.campaign().then(() => {
    bLeads = true;
  });
  await sleep(300);
  expect(bLeads).toBe(false);
  await expect(b.proclaim('b2')).rejects.toBeInstanceOf(ElectionNotLeaderError);
  await a.proclaim('a2');
  expect((await b.leader())?.text()).toBe('a2');
  await a.resign();
  await withTimeout(bp, 5000, 'b elected');
  const l = await b.leader();
  expect(l?.text()).toBe('b');
  expect(l?.createRevision).toBe(b.revision);
  expect(b.revision).toBeGreaterThan(a.revision);
  await expect(a.proclaim('x')).rejects.toBeInstanceOf(ElectionNotLeaderError);
  await b.resign();
  expect(await b.leader()).toBeUndefined();
});

test('observe() reports the current leader, proclaimed values and successors in order', async () => {
  const obs = collect('e2');
  const a = elect(etcd.client, 'e2', { value: 'a', ttl: 10 });
  const b = elect(etcd.client, 'e2', { value: 'b', ttl: 10 });
  await a.campaign();
  const bp = b.campaign();
  await a.proclaim('a2');
  await a.resign();
  await bp;
  await waitFor(() => obs.seen.length >= 3, { timeoutMs: 5000, what: 'three observations' });
  await b.resign();
  await obs.stop();
  expect(obs.seen.map((l) => l.text())).toEqual(['a', 'a2', 'b']);
});

test('observe() whose watch catches up over several revisions reports each leader and value', async () => {
  // Hold the observer's watch back until the whole succession has happened, so that the
  // watch replays it in one batch: each revision must still be judged on its own.
  let openGate!: () => void;
  const gate = new Promise<void>((r) => {
    openGate = r;
  });
  const client = etcd.client;
  const gated = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'watch')
        return async (...args: Parameters<Client['watch']>) => {
          await gate;
          return target.watch(...args);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const ac = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    try {
      for await (const l of observe(gated, 'e2b', { signal: ac.signal })) seen.push(l.text());
    } catch (e) {
      if ((e as Error).name !== 'AbortError') throw e;
    }
  })();
  await sleep(200);
  const a = elect(client, 'e2b', { value: 'a', ttl: 10 });
  const b = elect(client, 'e2b', { value: 'b', ttl: 10 });
  await a.campaign();
  const bp = b.campaign();
  await a.proclaim('a2');
  await a.resign();
  await bp;
  openGate();
  await waitFor(() => seen.length >= 3, { timeoutMs: 5000, what: 'three observations' });
  await b.resign();
  ac.abort();
  await done;
  expect(seen).toEqual(['a', 'a2', 'b']);
});

test('etcdctl elect and elect() see each other', async () => {
  const ep = `--endpoints=${etcd.cluster.endpoints.join(',')}`;
  const ctl = spawnTracked('etcdctl', [ep, 'elect', 'mixed-e', 'from-etcdctl'], { ETCDCTL_API: '3' });
  await waitFor(() => ctl.lines.length >= 2, { timeoutMs: 5000, what: 'etcdctl to be elected' });
  const ours = elect(etcd.client, 'mixed-e', { value: 'from-concord', ttl: 10 });
  expect((await ours.leader())?.text()).toBe('from-etcdctl');
  expect(ctl.lines[1]).toBe('from-etcdctl');
  let led = false;
  const p = ours.campaign().then(() => {
    led = true;
  });
  await sleep(500);
  expect(led).toBe(false);
  // An observer through etcdctl sees our leadership once etcdctl resigns (SIGINT resigns).
  const listen = spawnTracked('etcdctl', [ep, 'elect', '-l', 'mixed-e'], { ETCDCTL_API: '3' });
  ctl.child.kill('SIGINT');
  await withTimeout(p, 5000, 'elected after etcdctl resigned');
  await waitFor(() => listen.lines.includes('from-concord'), {
    timeoutMs: 5000,
    what: 'etcdctl -l to see us',
  });
  await ours.resign();
});

test('leader process killed: its lease expires and the observer sees the successor, no gap', async () => {
  const obs = collect('e3');
  const env = { ELECTION: 'e3', TTL: '2' };
  const a = etcd.fixture('elect-candidate.mjs', { ...env, VALUE: 'proc-a' });
  await waitFor(() => a.lines.includes('elected'), { timeoutMs: 20_000, what: 'a elected' });
  const b = etcd.fixture('elect-candidate.mjs', { ...env, VALUE: 'proc-b' });
  await sleep(500);
  expect(b.lines).toEqual([]);
  a.child.kill('SIGKILL');
  await waitFor(() => b.lines.includes('elected'), { timeoutMs: 10_000, what: 'b elected after a died' });
  await waitFor(() => obs.seen.length >= 2, { timeoutMs: 5000, what: 'observer to see b' });
  await obs.stop();
  expect(obs.seen.map((l) => l.text())).toEqual(['proc-a', 'proc-b']);
  expect(obs.seen[1]!.createRevision).toBeGreaterThan(obs.seen[0]!.createRevision);
}, 30_000);

test('a leader whose lease is revoked underneath is told it lost', async () => {
  const a = elect(etcd.client, 'e4', { value: 'a', ttl: 3 });
  await a.campaign();
  const other = new Client({ endpoints: etcd.cluster.endpoints });
  const lease = (await other.range({ prefix: 'e4/' })).kvs[0]!.lease;
  await other.revokeLease(lease);
  other.close();
  const lost = await withTimeout(a.lost, 5000, 'lost');
  expect(lost).toBeInstanceOf(LeadershipLostError);
  expect(a.signal.aborted).toBe(true);
});

test('a candidate that resigns and leaves observe() lets its process exit by itself', async () => {
  const p = etcd.fixture('elect-exit.mjs', { MODE: 'resign', ELECTION: 'e-exit', VALUE: 'fn-a' });
  const code = await withTimeout(p.exited, 15_000, 'the candidate process to exit by itself');
  expect({ code, stderr: p.stderr() }).toEqual({ code: 0, stderr: '' });
  expect(p.lines).toEqual([
    expect.stringMatching(/^elected e-exit\/[0-9a-f]+$/),
    'holding {"watches":0,"leases":0}',
  ]);
  // Resigning revoked the election's own lease: the next candidate leads at once.
  expect(await etcd.client.count({ prefix: 'e-exit/' })).toBe(0n);
});

test('a leader on a lease without keepalive exits by itself; its leadership ends with the lease', async () => {
  const obs = collect('e-fn');
  const p = etcd.fixture('elect-exit.mjs', { MODE: 'lease', ELECTION: 'e-fn', VALUE: 'fn-b', TTL: '4' });
  const code = await withTimeout(p.exited, 15_000, 'the leader process to exit by itself');
  expect({ code, stderr: p.stderr() }).toEqual({ code: 0, stderr: '' });
  expect(p.lines[1]).toBe('holding {"watches":0,"leases":0}');
  const b = elect(etcd.client, 'e-fn', { value: 'next', ttl: 10 });
  await withTimeout(b.campaign(), 30_000, 'the next candidate to lead once the lease ran out');
  await waitFor(() => obs.seen.length >= 2, { timeoutMs: 10_000, what: 'observer to see the successor' });
  await obs.stop();
  expect(obs.seen.map((l) => l.text())).toEqual(['fn-b', 'next']);
  await b.resign();
}, 60_000);
