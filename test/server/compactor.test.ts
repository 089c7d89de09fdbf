/**
 * Auto-compaction: the schedule and targets of both modes on a fake clock (only the leader
 * compacts, never backwards), and a real member started with `--auto-compaction-mode periodic
 * --auto-compaction-retention 2s` compacting its history.
 */
import { Client, CompactedError } from '../../src/index.js';
import {
  Compactor,
  type CompactorHost,
  compactionInterval,
  parseRetention,
} from '../../src/server/bootstrap/compactor.js';
import { type Concord, startConcord } from '../harness/concord.js';
import { waitFor } from '../harness/etcd.js';

function fakeHost(leader = true) {
  const state = { rev: 1, compact: 0, leader, compacted: [] as number[] };
  const host: CompactorHost = {
    isLeader: () => state.leader,
    revision: () => state.rev,
    compactRevision: () => state.compact,
    compact: async (r) => {
      state.compacted.push(r);
      state.compact = r;
    },
    log: () => {},
  };
  return { state, host };
}

test('revision mode keeps the last N revisions, checked every 5 minutes', async () => {
  const { state, host } = fakeHost();
  const c = new Compactor(host, { mode: 'revision', retention: 100 });
  expect(compactionInterval({ mode: 'revision', retention: 100 })).toBe(5 * 60_000);
  let t = 1_000_000;
  state.rev = 50;
  expect(await c.tick(t)).toBeUndefined();
  state.rev = 1000;
  t += 4 * 60_000;
  expect(await c.tick(t)).toBeUndefined(); // not due yet
  t += 60_000;
  expect(await c.tick(t)).toBe(900);
  state.rev = 950;
  t += 5 * 60_000;
  expect(await c.tick(t)).toBeUndefined(); // 850 is behind the compaction already
  expect(state.compacted).toEqual([900]);
});

test('periodic mode compacts to the revision of `retention` ago, only on the leader', async () => {
  const { state, host } = fakeHost(false);
  const c = new Compactor(host, { mode: 'periodic', retention: 10_000 });
  expect(c.tickMs).toBe(1000);
  let t = 0;
  for (let i = 0; i < 25; i++) {
    state.rev = 10 + i * 10; // 10 revisions a second
    t = i * 1000;
    await c.tick(t);
  }
  expect(state.compacted).toEqual([]); // a follower never compacts
  state.leader = true;
  t += 10_000;
  state.rev = 500;
  expect(await c.tick(t)).toBe(10 + 24 * 10);
  // Retention over an hour: etcd acts hourly.
  expect(compactionInterval({ mode: 'periodic', retention: 72 * 3_600_000 })).toBe(3_600_000);
});

test('retention values are read as etcd reads them', () => {
  const dur = (v: string) => (v === '30m' ? 1_800_000 : Number.NaN);
  expect(parseRetention('periodic', '1', dur)).toBe(3_600_000);
  expect(parseRetention('periodic', '30m', dur)).toBe(1_800_000);
  expect(parseRetention('revision', '1000', dur)).toBe(1000);
  expect(() => parseRetention('revision', '1h', dur)).toThrow(/number of revisions/);
});

describe('a member with periodic auto-compaction', () => {
  let server: Concord | undefined;
  afterAll(async () => {
    await server?.close();
  });

  test('compacts the history older than the retention', async () => {
    server = await startConcord({
      args: ['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '2s'],
    });
    const client = new Client({ endpoints: [server.endpoint] });
    try {
      const first = (await client.put('ac', 'v0')).header.revision;
      await waitFor(
        async () => {
          await client.put('ac', 'more');
          return (await client.range('ac', { revision: first }).catch((e) => e)) instanceof CompactedError;
        },
        { timeoutMs: 15_000, intervalMs: 250, what: `revision ${first} to be compacted` },
      );
      expect(server.proc.stderr()).toMatch(/auto-compaction \(periodic\) compacted to revision \d+/);
    } finally {
      client.close();
    }
  }, 30_000);
});
