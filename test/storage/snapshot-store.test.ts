/** The SnapshotStore contract, run against the file store and the PostgreSQL store alike. */
import { Readable } from 'node:stream';
import {
  copySnapshot,
  FileSnapshotStore,
  PostgresSnapshotStore,
  SnapshotChecksumError,
  type SnapshotInfo,
  SnapshotNotFoundError,
  type SnapshotStore,
} from '../../src/storage/index.js';
import { DATABASE_URL, dropSchema, testSchemaName } from './pg-helpers.js';
import { removeTempDirs, tempDir } from './wal-helpers.js';

export async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function info(index: number, over: Partial<SnapshotInfo> = {}): SnapshotInfo {
  return {
    clusterId: 0xc1c1c1c1c1c1c1c1n,
    memberId: 0x8e9e05c52164694dn,
    term: 3,
    index,
    membership: Buffer.from(JSON.stringify({ voters: ['a', 'b', 'c'] })),
    ...over,
  };
}

function data(index: number, size = 5000): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + index) & 0xff;
  return b;
}

/** Pieces of odd sizes, so chunk boundaries fall mid-piece. */
function pieces(b: Buffer, size = 777): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; at += size) out.push(b.subarray(at, at + size));
  return out;
}

interface Kind {
  name: string;
  make(): Promise<SnapshotStore>;
  /** Changes one byte of a stored snapshot's data behind the store's back. */
  corrupt(store: SnapshotStore, id: string): Promise<void>;
  cleanup(): Promise<void>;
}

const schemas: string[] = [];
const kinds: Kind[] = [
  {
    name: 'file',
    make: async () => new FileSnapshotStore(tempDir('concord-snap-')),
    async corrupt(store, id) {
      const { readFileSync, writeFileSync } = await import('node:fs');
      const path = await import('node:path');
      const file = path.join((store as FileSnapshotStore).dir, id);
      const b = readFileSync(file);
      b[b.length - 48 - 100] ^= 1;
      writeFileSync(file, b);
    },
    cleanup: async () => removeTempDirs(),
  },
  {
    name: 'postgres',
    async make() {
      const schema = testSchemaName();
      schemas.push(schema);
      return new PostgresSnapshotStore({ connectionString: DATABASE_URL, schema, chunkBytes: 1024 });
    },
    async corrupt(store, id) {
      const { sql } = await import('./pg-helpers.js');
      const s = (store as PostgresSnapshotStore).schema;
      await sql(
        `UPDATE "${s}".snapshot_chunks SET data = set_byte(data, 10, (get_byte(data, 10) + 1) % 256) WHERE snapshot_id = $1 AND seq = 2`,
        [id],
      );
    },
    async cleanup() {
      for (const s of schemas.splice(0)) await dropSchema(s);
    },
  },
];

describe.each(kinds)('$name snapshot store', (kind) => {
  let store: SnapshotStore;
  beforeEach(async () => {
    store = await kind.make();
  });
  afterEach(async () => {
    await store.close();
    await kind.cleanup();
  });

  test('save, list, stat, load', async () => {
    expect(await store.list()).toEqual([]);
    expect(await store.latest()).toBeUndefined();
    const saved = await store.save(info(10), pieces(data(10)));
    expect(saved).toMatchObject({ index: 10, term: 3, size: 5000, clusterId: 0xc1c1c1c1c1c1c1c1n });
    expect(saved.sha256).toMatch(/^[0-9a-f]{64}$/);
    await store.save(info(20), Readable.from(pieces(data(20))));
    const list = await store.list();
    expect(list.map((m) => m.index)).toEqual([20, 10]);
    expect(list[1]).toEqual({ ...saved, createdAt: expect.any(Date), membership: expect.anything() });
    expect(Buffer.from(list[1]!.membership).toString()).toBe('{"voters":["a","b","c"]}');
    expect((await store.latest())!.index).toBe(20);
    expect(await store.stat(saved.id)).toMatchObject({ index: 10, sha256: saved.sha256 });
    expect((await readAll(await store.open(saved.id))).equals(data(10))).toBe(true);
  });

  test('an empty snapshot round-trips', async () => {
    const m = await store.save(info(1), []);
    expect(m.size).toBe(0);
    expect((await readAll(await store.open(m.id))).length).toBe(0);
  });

  test('retention keeps the newest N of each member', async () => {
    for (const i of [1, 2, 3, 4, 5]) await store.save(info(i), [data(i, 100)]);
    for (const i of [1, 2, 3]) await store.save(info(i, { memberId: 2n }), [data(i, 100)]);
    const gone = await store.retain(2);
    expect(gone.map((m) => `${m.memberId === 2n ? 'b' : 'a'}${m.index}`).sort()).toEqual([
      'a1',
      'a2',
      'a3',
      'b1',
    ]);
    expect((await store.list({ memberId: 2n })).map((m) => m.index)).toEqual([3, 2]);
    expect((await store.list()).length).toBe(4);
    await expect(store.retain(-1)).rejects.toThrow(/keep must be an integer ≥ 0, got -1/);
  });

  test('delete removes one snapshot; a missing one is SnapshotNotFoundError', async () => {
    const m = await store.save(info(7), [data(7)]);
    await store.delete(m.id);
    expect(await store.list()).toEqual([]);
    await expect(store.delete(m.id)).rejects.toThrow(SnapshotNotFoundError);
    await expect(store.open(m.id)).rejects.toThrow(SnapshotNotFoundError);
    await expect(store.stat('nonsense')).rejects.toThrow(SnapshotNotFoundError);
  });

  test('a checksum mismatch is rejected on read', async () => {
    const m = await store.save(info(9), pieces(data(9)));
    await kind.corrupt(store, m.id);
    await expect(readAll(await store.open(m.id))).rejects.toThrow(SnapshotChecksumError);
  });

  test('two clusters side by side do not see each other', async () => {
    const a = info(5, { clusterId: 1n, memberId: 1n });
    const b = info(5, { clusterId: 2n, memberId: 1n });
    const ma = await store.save(a, [Buffer.from('cluster A')]);
    const mb = await store.save(b, [Buffer.from('cluster B')]);
    expect(ma.id).not.toBe(mb.id);
    expect((await store.list({ clusterId: 1n })).map((m) => m.id)).toEqual([ma.id]);
    expect((await store.latest({ clusterId: 2n }))!.id).toBe(mb.id);
    expect((await readAll(await store.open(mb.id))).toString()).toBe('cluster B');
    await store.retain(0, { clusterId: 1n });
    expect((await store.list()).map((m) => m.id)).toEqual([mb.id]);
  });

  test('IDs with the top bit set round-trip', async () => {
    const m = await store.save(
      info(1, { clusterId: 0xffffffffffffffffn, memberId: 0x8000000000000000n }),
      [],
    );
    expect(await store.stat(m.id)).toMatchObject({
      clusterId: 0xffffffffffffffffn,
      memberId: 0x8000000000000000n,
    });
  });
});

describe('between stores', () => {
  const schema = testSchemaName();
  let pgStore: PostgresSnapshotStore;
  beforeAll(() => {
    pgStore = new PostgresSnapshotStore({ connectionString: DATABASE_URL, schema, chunkBytes: 1000 });
  });
  afterAll(async () => {
    await pgStore.close();
    await dropSchema(schema);
    removeTempDirs();
  });

  test('a member bootstraps by copying the latest snapshot from PostgreSQL to its file store', async () => {
    await pgStore.save(info(40), pieces(data(40, 12345)));
    const latest = (await pgStore.latest({ clusterId: info(0).clusterId }))!;
    const local = new FileSnapshotStore(tempDir('concord-boot-'));
    const copied = await copySnapshot(pgStore, latest.id, local);
    expect(copied).toMatchObject({ index: 40, size: 12345, sha256: latest.sha256 });
    expect((await readAll(await local.open(copied.id))).equals(data(40, 12345))).toBe(true);
  });

  test('a corrupt source fails the copy and leaves the target empty', async () => {
    const m = await pgStore.save(info(41), pieces(data(41)));
    await kinds[1]!.corrupt(pgStore, m.id);
    const local = new FileSnapshotStore(tempDir('concord-boot-'));
    await expect(copySnapshot(pgStore, m.id, local)).rejects.toThrow(SnapshotChecksumError);
    expect(await local.list()).toEqual([]);
  });

  test('a reader that stops early leaves the store usable', async () => {
    const m = await pgStore.save(info(42), pieces(data(42, 20000)));
    for (let i = 0; i < 6; i++) {
      const s = await pgStore.open(m.id);
      for await (const _ of s) break;
    }
    expect((await readAll(await pgStore.open(m.id))).equals(data(42, 20000))).toBe(true);
  });
});
