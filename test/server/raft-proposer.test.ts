/**
 * A single-member RaftProposer in process: the internal request envelopes round-trip every kind;
 * a burst of proposals is group-committed (far fewer fsyncs than writes) and answered in index
 * order; a restart recovers from the newest snapshot plus the WAL after it.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  decodeEntry,
  decodeInternalRequest,
  encodeInternalRequest,
  encodePublishEntry,
  encodeRequestEntry,
  type InternalRequest,
  InternalRequestFormatError,
  Membership,
  RaftProposer,
  RequestTooLargeError,
  recover,
} from '../../src/server/index.js';

const IDS = { clusterId: 7n, memberId: 9n };
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-proposer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const put = (key: string, value = 'v'): InternalRequest => ({
  put: {
    key: Buffer.from(key),
    value: Buffer.from(value),
    lease: 0n,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  },
});

async function open(opts: { snapshotCount?: number; maxRequestBytes?: number } = {}) {
  const rec = await recover(dir, {
    smOptions: {},
    ...IDS,
    founding: () => Membership.founding([{ id: IDS.memberId, name: 'solo', peerUrl: 'http://127.0.0.1:1' }]),
    initialClusterState: 'new',
  });
  const p = new RaftProposer(rec, {
    ...IDS,
    name: 'solo',
    clientUrls: ['http://127.0.0.1:2'],
    heartbeatMs: 100,
    electionMs: 1000,
    snapshotCount: opts.snapshotCount ?? 100_000,
    maxRequestBytes: opts.maxRequestBytes ?? 1.5 * 1024 * 1024,
    fresh: rec.fresh,
    log: () => {},
  });
  return { rec, p };
}

test('the envelope round-trips each kind and refuses unknown versions and tags', () => {
  const reqs: InternalRequest[] = [
    put('k'),
    { deleteRange: { key: Buffer.from('a'), rangeEnd: Buffer.from('b'), prevKv: true } },
    { compaction: { revision: 5n, physical: false } },
    { leaseGrant: { TTL: 10n, ID: 3n } },
    { leaseRevoke: { ID: 3n } },
    { leaseCheckpoint: { checkpoints: [{ ID: 3n, remainingTTL: 4n }] } },
  ];
  for (const r of reqs) expect(decodeInternalRequest(encodeInternalRequest(r))).toEqual(r);
  const bytes = encodeInternalRequest(put('k'));
  expect(() => decodeInternalRequest(Buffer.from([9, ...bytes.subarray(1)]))).toThrow(
    InternalRequestFormatError,
  );
  expect(() => decodeInternalRequest(Buffer.from([1, 200]))).toThrow(/unknown kind tag 200/);
  // Raft entries: the request with the ID its proposer waits on, and publications.
  for (const r of reqs)
    expect(decodeEntry(encodeRequestEntry(0xbeef, 2 ** 47 + 5, r))).toEqual({
      kind: 'request',
      prefix: 0xbeef,
      counter: 2 ** 47 + 5,
      req: r,
    });
  const attrs = { id: 'a1', name: 'n', clientUrls: ['http://h:1'] };
  expect(decodeEntry(encodePublishEntry(1, 2, attrs))).toEqual({
    kind: 'publish',
    prefix: 1,
    counter: 2,
    attrs,
  });
  // An entry written by the single-member build before request IDs still decodes.
  expect(decodeEntry(encodeInternalRequest(put('k')))).toMatchObject({ kind: 'request', req: put('k') });
  expect(() => decodeEntry(Buffer.from([3, 1, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/up to 2/);
});

test('a burst of proposals is group-committed and answered in index order', async () => {
  const { rec, p } = await open();
  const before = rec.wal.stats().fsyncs;
  await p.propose(put('first'));
  const revs = await Promise.all(Array.from({ length: 200 }, (_, i) => p.propose(put(`k${i}`))));
  expect(revs.map((r) => Number(r.header!.revision))).toEqual(Array.from({ length: 200 }, (_, i) => i + 3));
  const fsyncs = rec.wal.stats().fsyncs - before;
  expect(fsyncs).toBeGreaterThan(0);
  expect(fsyncs).toBeLessThan(20);
  await expect(p.propose(put('big', 'x'.repeat(2 * 1024 * 1024)))).rejects.toBeInstanceOf(
    RequestTooLargeError,
  );
  await p.close();
});

test('a restart recovers from the newest snapshot plus the WAL after it, however often', async () => {
  let { p } = await open({ snapshotCount: 25 });
  for (let i = 0; i < 60; i++) {
    await p.propose(put(`k${i % 7}`, `v${i}`));
    await p.idle(); // let each snapshot finish before the next entry
  }
  await p.propose({ deleteRange: { key: Buffer.from('k3'), rangeEnd: Buffer.alloc(0), prevKv: false } });
  const hash = p.sm.hashKV().hash;
  const revision = p.sm.revision;
  const applied = p.sm.appliedIndex;
  const term = p.status().term;
  await p.close();
  expect((await readdir(path.join(dir, 'snap'))).filter((f) => f.endsWith('.snap')).length).toBeGreaterThan(
    1,
  );
  for (let round = 0; round < 2; round++) {
    const again = await open({ snapshotCount: 25 });
    p = again.p;
    expect(again.rec.fresh).toBe(false);
    expect(again.rec.snapshotIndex).toBeGreaterThanOrEqual(25);
    expect(again.rec.entries.length).toBeGreaterThan(0);
    // The committed entries after the snapshot come back through the core, in order.
    await p.propose(put('probe'));
    await p.propose({ deleteRange: { key: Buffer.from('probe'), rangeEnd: Buffer.alloc(0), prevKv: false } });
    expect(p.sm.appliedIndex).toBeGreaterThan(applied);
    expect(p.sm.revision).toBe(revision + 2 * (round + 1));
    expect(p.sm.hashKV(revision).hash).toBe(hash);
    expect(p.status().term).toBeGreaterThan(term);
    await p.close();
  }
});

test('a failed WAL write stops the loop once: it says why and refuses, without spinning', async () => {
  const { rec, p } = await open();
  await p.propose(put('a'));
  const wal = rec.wal as unknown as { save: (...a: unknown[]) => Promise<void> };
  let saves = 0;
  wal.save = async () => {
    saves++;
    throw new Error('EIO: disk on fire');
  };
  await expect(p.propose(put('b'))).rejects.toThrow('etcdserver: server stopped');
  expect(p.failure?.message).toBe('EIO: disk on fire');
  // Ticks go on; a stopped loop must not retry the write (it spun a core before).
  await new Promise((r) => setTimeout(r, 500));
  expect(saves).toBe(1);
  await expect(p.propose(put('c'))).rejects.toThrow('etcdserver: server stopped');
  await p.close().catch(() => {});
});
