/**
 * The LocalProposer in process: the internal request envelope round-trips every kind; a burst of
 * proposals is group-committed (far fewer fsyncs than writes); answers come in index order;
 * recovery replays the WAL idempotently and starts from the newest snapshot.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  decodeInternalRequest,
  encodeInternalRequest,
  type InternalRequest,
  InternalRequestFormatError,
  LocalProposer,
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
  const rec = await recover(dir, {}, IDS);
  return { rec, p: await LocalProposer.start(rec, { ...IDS, ...opts }) };
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
});

test('a burst of proposals is group-committed and answered in index order', async () => {
  const { rec, p } = await open();
  const before = rec.wal.stats().fsyncs;
  const revs = await Promise.all(Array.from({ length: 200 }, (_, i) => p.propose(put(`k${i}`))));
  expect(revs.map((r) => Number(r.header!.revision))).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
  const fsyncs = rec.wal.stats().fsyncs - before;
  expect(fsyncs).toBeGreaterThan(0);
  expect(fsyncs).toBeLessThan(20);
  await expect(p.propose(put('big', 'x'.repeat(2 * 1024 * 1024)))).rejects.toBeInstanceOf(
    RequestTooLargeError,
  );
  await p.close();
});

test('recovery replays the WAL idempotently, from the newest snapshot', async () => {
  let { p } = await open({ snapshotCount: 25 });
  for (let i = 0; i < 60; i++) {
    await p.propose(put(`k${i % 7}`, `v${i}`));
    await p.idle(); // let each snapshot finish, so they land at 25 and 50 exactly
  }
  await p.propose({ deleteRange: { key: Buffer.from('k3'), rangeEnd: Buffer.alloc(0), prevKv: false } });
  const hash = p.sm.hashKV().hash;
  const applied = p.sm.appliedIndex;
  await p.close();
  expect((await readdir(path.join(dir, 'snap'))).filter((f) => f.endsWith('.snap')).length).toBeGreaterThan(
    0,
  );
  for (let round = 0; round < 2; round++) {
    const again = await open({ snapshotCount: 25 });
    p = again.p;
    expect(again.rec.snapshotIndex).toBe(50);
    expect(again.rec.replayed).toBe(applied - again.rec.snapshotIndex);
    expect(p.sm.appliedIndex).toBe(applied);
    expect(p.sm.hashKV().hash).toBe(hash);
    expect(p.status().term).toBe(round + 2);
    await p.close();
  }
});
