/**
 * SDK watches across member failures of a real 3-member etcd 3.4: the member holding the watch
 * stream is SIGKILLed (a follower, then the leader) or SIGSTOPped while another client keeps
 * writing; the watch must fail over and deliver every revision exactly once, in order.
 */
import { Client, type ClientOptions, CompactedError, type WatchEvent } from '../../src/index.js';
import { sleep, waitFor } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { Reader, watchMetrics } from './watch-helpers.js';

// Let clients ping every second (etcd refuses pings more often than every 5 s by default):
// only the SIGSTOP test uses it, to notice a hung member in seconds instead of 40. `heal`
// leaves every member running and healthy for the next test.
const etcd = etcdSuite({
  members: 3,
  name: 'watch-failover',
  extraArgs: ['--grpc-keepalive-min-time', '500ms'],
  heal: true,
});
let seq = 0;
const fresh = (name: string) => `watch-failover/${name}/${Date.now()}-${++seq}/`;

interface Put {
  rev: bigint;
  value: string;
}

/**
 * Writes sequential puts under `prefix` through `writer` until `stop()`; each attempt writes a
 * fresh sequence number as its value. Failed attempts (no leader, timeouts) are retried with
 * the next number, so an attempt that failed but was applied anyway shows up in history with
 * its own value instead of being confused with the retry.
 */
function startWriter(writer: Client, prefix: string) {
  const puts: Put[] = [];
  const errors: string[] = [];
  let attempt = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const value = String(attempt++);
      try {
        const r = await writer.put(`${prefix}k${Number(value) % 10}`, value, { timeoutMs: 3000 });
        puts.push({ rev: r.header.revision, value });
      } catch (e) {
        errors.push((e as Error).message);
        await sleep(50);
      }
    }
  })();
  return {
    puts,
    errors,
    async stop() {
      stopped = true;
      await done;
    },
    /** Resolves once `n` puts in total have succeeded. */
    reach(n: number, timeoutMs = 15_000) {
      return waitFor(() => puts.length >= n, { timeoutMs, intervalMs: 10, what: `${n} successful puts` });
    },
  };
}

function assertExactlyOnce(seen: WatchEvent[], truth: WatchEvent[], puts: Put[]): void {
  const pairs = (evs: WatchEvent[]) => evs.map((e) => `${e.revision}=${e.kv.text()}`);
  // No duplicates, no reordering.
  for (let i = 1; i < seen.length; i++) expect(seen[i]!.revision).toBeGreaterThan(seen[i - 1]!.revision);
  // Exactly the store's history of the prefix (one put per revision here).
  expect(pairs(seen)).toEqual(pairs(truth));
  // And every acknowledged put is in it with its value.
  const byRev = new Map(truth.map((e) => [e.revision, e.kv.text()]));
  const missing = puts.filter((p) => byRev.get(p.rev) !== p.value);
  expect(missing).toEqual([]);
}

/** Sum of watch streams / watchers on the given members. */
async function serverWatches(members: number[]): Promise<{ streams: number; watchers: number }> {
  const ms = await Promise.all(members.map((i) => watchMetrics(etcd.cluster.members[i]!.clientUrl)));
  return {
    streams: ms.reduce((s, m) => s + m.streams, 0),
    watchers: ms.reduce((s, m) => s + m.watchers, 0),
  };
}

/**
 * The scenario: a watch whose stream is on `target`, a writer on the two other members, then
 * `disrupt(target)` after 100 puts, `recover(target)` after 100 more, 100 more after that.
 */
async function failoverScenario(
  name: string,
  target: number,
  disrupt: (i: number) => Promise<void>,
  recover: (i: number) => Promise<void>,
  watcherOptions: Partial<ClientOptions> = {},
): Promise<{ puts: Put[]; errors: string[] }> {
  const p = fresh(name);
  const others = [0, 1, 2].filter((i) => i !== target);
  const eps = etcd.cluster.endpoints;
  const watcher = new Client({ ...watcherOptions, endpoints: [eps[target]!, ...others.map((i) => eps[i]!)] });
  const writer = new Client({ endpoints: others.map((i) => eps[i]!) });
  try {
    const w = await watcher.watch({ prefix: p });
    const from = w.nextRevision;
    const r = new Reader(w);
    // The stream is on the target member, and only there.
    await waitFor(async () => (await serverWatches([target])).streams === 1, {
      timeoutMs: 5000,
      what: 'stream on target',
    });
    expect(await serverWatches(others)).toEqual({ streams: 0, watchers: 0 });

    const wr = startWriter(writer, p);
    try {
      await wr.reach(100);
      await disrupt(target);
      await wr.reach(200);
      // The watch moved to a surviving member: one stream, one watcher (not created twice).
      await waitFor(
        async () => {
          const m = await serverWatches(others);
          return m.streams === 1 && m.watchers >= 1;
        },
        {
          timeoutMs: 15_000,
          what: 'the watch to fail over to another member',
        },
      );
      expect(await serverWatches(others)).toEqual({ streams: 1, watchers: 1 });
      await recover(target);
      const mark = wr.puts.length;
      await wr.reach(mark + 100);
    } finally {
      await wr.stop();
    }
    const last = wr.puts[wr.puts.length - 1]!.rev;
    const seen = await r.until(last, 15_000);
    // Still exactly one watcher on the cluster for this client's one watch.
    expect(await serverWatches(others)).toEqual({ streams: 1, watchers: 1 });
    expect(watcher.holding.watches).toBe(1);

    // The truth: the prefix's history, replayed by a fresh watch on a healthy member.
    const replay = new Reader(await writer.watch({ prefix: p }, { startRevision: from }));
    const truth = await replay.until(last, 10_000);
    expect(wr.puts.length).toBeGreaterThanOrEqual(300);
    assertExactlyOnce(seen, truth, wr.puts);

    // Nothing extra is queued after the last write, and the watch is still live.
    expect(r.buffered).toEqual([]);
    const after = await writer.put(`${p}after`, 'after');
    expect((await r.events(1))[0]!.revision).toBe(after.header.revision);

    w.cancel();
    expect(watcher.holding.watches).toBe(0);
    return { puts: wr.puts, errors: wr.errors };
  } finally {
    watcher.close();
    writer.close();
  }
}

async function firstFollower(): Promise<number> {
  const leader = await etcd.cluster.leaderIndex();
  return [0, 1, 2].find((i) => i !== leader)!;
}

test('SIGKILL of the follower holding the watch stream: every revision exactly once, in order', async () => {
  const target = await firstFollower();
  await failoverScenario(
    'kill-follower',
    target,
    (i) => etcd.cluster.kill(i),
    (i) => etcd.cluster.restart(i),
  );
}, 30_000);

test('SIGKILL of the leader holding the watch stream: every revision exactly once, in order', async () => {
  const target = await etcd.cluster.leaderIndex();
  await failoverScenario(
    'kill-leader',
    target,
    async (i) => {
      await etcd.cluster.kill(i);
      // A new leader among the two others.
      expect(await etcd.cluster.leaderIndex({ timeoutMs: 10_000 })).not.toBe(i);
    },
    (i) => etcd.cluster.restart(i),
  );
}, 30_000);

test('SIGSTOP of the member holding the watch stream: the watch fails over (client keepalive 1 s)', async () => {
  const target = await firstFollower();
  await failoverScenario(
    'pause',
    target,
    (i) => etcd.cluster.pause(i),
    (i) => etcd.cluster.resume(i),
    // A stopped member keeps its TCP connections open: only the client's keepalive check (gRPC
    // pings; a read on fetch) notices. The default (10 s, then 5 s to answer) would take 15 s.
    { keepalive: { intervalMs: 1000, timeoutMs: 1000 } },
  );
}, 30_000);

test('a watch created while its first endpoint is down is created once, on the next member', async () => {
  const target = await firstFollower();
  const others = [0, 1, 2].filter((i) => i !== target);
  const eps = etcd.cluster.endpoints;
  await etcd.cluster.kill(target);
  const watcher = new Client({ endpoints: [eps[target]!, ...others.map((i) => eps[i]!)] });
  const writer = new Client({ endpoints: others.map((i) => eps[i]!) });
  try {
    const p = fresh('create-down');
    const r = new Reader(await watcher.watch({ prefix: p }, { timeoutMs: 10_000 }));
    expect(await serverWatches(others)).toEqual({ streams: 1, watchers: 1 });
    const put = await writer.put(`${p}a`, '1');
    const [e] = await r.events(1);
    expect([e?.revision, e?.kv.text()]).toEqual([put.header.revision, '1']);
    // Bringing the member back does not move or duplicate the watch.
    await etcd.cluster.restart(target);
    const put2 = await writer.put(`${p}b`, '2');
    expect((await r.events(1))[0]?.revision).toBe(put2.header.revision);
    expect(await serverWatches([0, 1, 2])).toEqual({ streams: 1, watchers: 1 });
  } finally {
    watcher.close();
    writer.close();
  }
}, 30_000);

test('a watch resuming from a revision compacted while it was disconnected fails with CompactedError', async () => {
  const target = await firstFollower();
  const others = [0, 1, 2].filter((i) => i !== target);
  const eps = etcd.cluster.endpoints;
  // Only the target: the watch cannot fail over and resumes on the restarted member.
  const watcher = new Client({ endpoints: [eps[target]!] });
  const writer = new Client({ endpoints: others.map((i) => eps[i]!) });
  try {
    const p = fresh('compact-gap');
    const r = new Reader(await watcher.watch({ prefix: p }));
    const a = await writer.put(`${p}a`, '1');
    expect((await r.events(1))[0]?.revision).toBe(a.header.revision);
    await etcd.cluster.kill(target);
    await writer.put(`${p}b`, '2');
    const c = await writer.put(`${p}c`, '3');
    await writer.compact(c.header.revision);
    await etcd.cluster.restart(target);
    // etcd serves clients only once the restarted member has applied the log (compaction
    // included), so the resumed watch (from a + 1) is refused as compacted.
    let err: unknown;
    try {
      const b = await r.nextBatch(15_000);
      err = new Error(
        `expected CompactedError, got a batch ${JSON.stringify(b?.events.map((e) => String(e.revision)))}`,
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompactedError);
    expect((err as CompactedError).compactRevision).toBe(c.header.revision);
    expect(watcher.holding.watches).toBe(0);
  } finally {
    watcher.close();
    writer.close();
  }
}, 30_000);
