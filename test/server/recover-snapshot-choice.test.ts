/**
 * Which stored snapshot a restart starts from. A snapshot streamed by a leader is stored before
 * the core accepts it and marked in the WAL only once installed, so a member stopped in between
 * holds a snapshot (index 6, term 2) and a WAL of its own older log (term 1) past index 6. That
 * log does not continue the snapshot: starting from it would put term-1 entries after a term-2
 * snapshot, and the member would vote on a last term of 1. Recovery passes such a snapshot over
 * and starts from the one the WAL follows; a local snapshot whose marker was not written yet is
 * still used, because the WAL holds its entry.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StateMachine, snapshot } from '../../src/mvcc/index.js';
import { Membership, RecoveryError, recover } from '../../src/server/index.js';
import { FileSnapshotStore, type WalEntry } from '../../src/storage/index.js';

const IDS = { clusterId: 7n, memberId: 9n };
const founding = () =>
  Membership.founding([{ id: IDS.memberId, name: 'solo', peerUrl: 'http://127.0.0.1:1' }]);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-recover-choice-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const start = () => recover(dir, { smOptions: {}, ...IDS, founding, initialClusterState: 'new' });

async function restart() {
  const rec = await start();
  const got = {
    snapshotIndex: rec.snapshotIndex,
    snapshotTerm: rec.snapshotTerm,
    entries: rec.entries.map((e) => `${e.index}/${e.term}`),
    applied: rec.sm.appliedIndex,
  };
  await rec.wal.close();
  await rec.snapshots.close();
  return got;
}

/** A fresh member (bootstrap snapshot at index 1) whose WAL then holds entries 2-10 of term 1. */
async function memberWithLog(): Promise<void> {
  const rec = await start();
  const es: WalEntry[] = [];
  for (let i = 2; i <= 10; i++) es.push({ index: i, term: 1, type: 0, data: Buffer.from(`e${i}`) });
  await rec.wal.save({ term: 2, vote: 0n, commit: 3 }, es);
  await rec.wal.close();
  await rec.snapshots.close();
}

/** What install() writes to the WAL after storing a snapshot: the marker, then the hard state. */
async function markInstalled(index: number, term: number): Promise<void> {
  const rec = await start();
  await rec.wal.saveSnapshot({ index, term });
  await rec.wal.save({ term: 2, vote: 0n, commit: index });
  await rec.wal.close();
  await rec.snapshots.close();
}

/** Stores a snapshot at (index, term) as the store would hold it, without any WAL record. */
async function storeSnapshot(index: number, term: number): Promise<void> {
  const sm = new StateMachine({});
  sm.appliedIndex = index;
  const store = new FileSnapshotStore(path.join(dir, 'snap'));
  await store.save({ ...IDS, term, index, membership: founding().encode() }, snapshot(sm));
  await store.close();
}

test('a leader snapshot stored but never installed is passed over: the WAL does not follow it', async () => {
  await memberWithLog();
  await storeSnapshot(6, 2);
  const got = await restart();
  expect(got).toEqual({
    snapshotIndex: 1,
    snapshotTerm: 1,
    entries: ['2/1', '3/1', '4/1', '5/1', '6/1', '7/1', '8/1', '9/1', '10/1'],
    applied: 1,
  });
});

test('a local snapshot whose WAL marker was not written is used: the WAL holds its entry', async () => {
  await memberWithLog();
  await storeSnapshot(6, 1);
  expect(await restart()).toEqual({
    snapshotIndex: 6,
    snapshotTerm: 1,
    entries: ['7/1', '8/1', '9/1', '10/1'],
    applied: 6,
  });
});

test('a snapshot past the end of the WAL is used: no entry of the WAL comes after it', async () => {
  await memberWithLog();
  await storeSnapshot(12, 2);
  expect(await restart()).toMatchObject({ snapshotIndex: 12, snapshotTerm: 2, entries: [], applied: 12 });
});

test('an installed leader snapshot restarts the log: the older entries past it do not come back', async () => {
  await memberWithLog();
  await storeSnapshot(6, 2);
  await markInstalled(6, 2);
  expect(await restart()).toEqual({ snapshotIndex: 6, snapshotTerm: 2, entries: [], applied: 6 });
});

test('a WAL that continues no stored snapshot is refused with the reason', async () => {
  await memberWithLog();
  // The bootstrap snapshot goes; only one the WAL does not follow is left.
  await rm(path.join(dir, 'snap'), { recursive: true, force: true });
  await storeSnapshot(6, 2);
  const refused = start();
  await expect(refused).rejects.toThrow(RecoveryError);
  await expect(refused).rejects.toThrow(
    /no snapshot in .* is one the WAL continues \(the newest is at index 6, term 2\)/,
  );
});

test('a WAL marked past every stored snapshot is refused with the reason', async () => {
  await memberWithLog();
  await storeSnapshot(6, 1);
  await markInstalled(6, 1);
  // The snapshot the marker names is gone; an older one is left.
  await rm(path.join(dir, 'snap'), { recursive: true, force: true });
  await storeSnapshot(3, 1);
  const refused = start();
  await expect(refused).rejects.toThrow(RecoveryError);
  await expect(refused).rejects.toThrow(
    /the WAL starts after a snapshot at index 6, but the newest snapshot in .* is at 3/,
  );
});
