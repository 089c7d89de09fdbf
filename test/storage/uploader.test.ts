import { createServer } from 'node:net';
import {
  FileSnapshotStore,
  PostgresSnapshotStore,
  type SnapshotInfo,
  type SnapshotMeta,
  type SnapshotSource,
  type SnapshotStore,
  SnapshotUploader,
  StoreUnavailableError,
} from '../../src/storage/index.js';
import { removeTempDirs, tempDir } from './wal-helpers.js';

afterEach(removeTempDirs);

const info = (index: number): SnapshotInfo => ({
  clusterId: 1n,
  memberId: 1n,
  term: 1,
  index,
  membership: new Uint8Array(),
});

/** A file store that fails its first `failures` saves, as a database that is away would. */
class Flaky extends FileSnapshotStore {
  saves: number[] = [];
  constructor(
    dir: string,
    public failures: number,
  ) {
    super(dir);
  }
  override async save(i: SnapshotInfo, data: SnapshotSource): Promise<SnapshotMeta> {
    if (this.failures > 0) {
      this.failures--;
      throw new StoreUnavailableError('database away');
    }
    this.saves.push(i.index);
    return super.save(i, data);
  }
}

test('failed uploads are retried with back-off, logged and counted', async () => {
  const store = new Flaky(tempDir(), 3);
  const logs: string[] = [];
  const up = new SnapshotUploader(store, { minBackoffMs: 1, maxBackoffMs: 4, log: (m) => logs.push(m) });
  up.offer(info(10), () => [Buffer.from('state at 10')]);
  await up.idle();
  expect(up.metrics).toMatchObject({ uploads: 1, failures: 3, lastUploadedIndex: 10, pending: false });
  expect(logs).toHaveLength(3);
  expect(logs[0]).toMatch(
    /snapshot upload of index 10 to file store failed \(attempt 1, retrying in \d+ ms\): database away/,
  );
  expect(store.saves).toEqual([10]);
  await up.close();
});

test('only the newest offer is uploaded, and an index that has not moved is skipped', async () => {
  const store = new Flaky(tempDir(), 1);
  const up = new SnapshotUploader(store, { minBackoffMs: 1, maxBackoffMs: 2, log: () => {} });
  up.offer(info(10), () => [Buffer.from('10')]);
  up.offer(info(20), () => [Buffer.from('20')]);
  up.offer(info(15), () => [Buffer.from('15')]);
  await up.idle();
  expect(store.saves).toEqual([20]);
  up.offer(info(20), () => [Buffer.from('20')]);
  expect(up.metrics).toMatchObject({ uploads: 1, skipped: 2, pending: false });
  await up.close();
});

test('an index the store already holds for the cluster is not uploaded again, by any member', async () => {
  const store = new Flaky(tempDir(), 0);
  const uploaded: number[] = [];
  const a = new SnapshotUploader(store, { minBackoffMs: 1, maxBackoffMs: 2, log: () => {}, retain: 2 });
  const b = new SnapshotUploader(store, {
    minBackoffMs: 1,
    maxBackoffMs: 2,
    log: () => {},
    onUploaded: (i) => uploaded.push(i.index),
  });
  a.offer(info(10), () => [Buffer.from('a10')]);
  await a.idle();
  // Member 2 (a new leader) holds snapshots at 10 and 5: neither goes up; 30 does.
  b.offer({ ...info(5), memberId: 2n }, () => [Buffer.from('b5')]);
  await b.idle();
  b.offer({ ...info(10), memberId: 2n }, () => [Buffer.from('b10')]);
  await b.idle();
  b.offer({ ...info(30), memberId: 2n }, () => [Buffer.from('b30')]);
  await b.idle();
  expect(store.saves).toEqual([10, 30]);
  expect(uploaded).toEqual([30]);
  expect(b.metrics).toMatchObject({ uploads: 1, skipped: 2, lastUploadedIndex: 30 });
  // Retention: member 1 keeps its newest 2.
  for (const i of [11, 12, 13]) {
    a.offer(info(30 + i), () => [Buffer.from(`a${i}`)]);
    await a.idle();
  }
  const mine = (await store.list({ clusterId: 1n, memberId: 1n })).map((m) => m.index);
  expect(mine).toEqual([43, 42]);
  await a.close();
  await b.close();
});

test('against a database that is down the uploader keeps failing and close() stops it', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  const store: SnapshotStore = new PostgresSnapshotStore({
    connectionString: `postgres://postgres@127.0.0.1:${port}/x`,
  });
  const logs: string[] = [];
  const up = new SnapshotUploader(store, {
    minBackoffMs: 5,
    maxBackoffMs: 20,
    timeoutMs: 1000,
    log: (m) => logs.push(m),
  });
  up.offer(info(1), () => [Buffer.from('x')]);
  while (up.metrics.failures < 3) await new Promise((r) => setTimeout(r, 5));
  expect(up.metrics.uploads).toBe(0);
  expect(up.metrics.lastError).toMatch(/ECONNREFUSED/);
  await up.close();
  const after = up.metrics.failures;
  await new Promise((r) => setTimeout(r, 60));
  expect(up.metrics.failures).toBe(after);
  await store.close();
});

test('options are validated', () => {
  expect(
    () => new SnapshotUploader(new FileSnapshotStore('x'), { minBackoffMs: 10, maxBackoffMs: 1 }),
  ).toThrow(/got 10, 1/);
});
