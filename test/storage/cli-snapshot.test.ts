/** `concord snapshot list|inspect` against both stores, run as the built command. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FileSnapshotStore, PostgresSnapshotStore, type SnapshotInfo } from '../../src/storage/index.js';
import { ensureBuilt, killAll, ROOT, spawnTracked } from '../harness/fixtures.js';
import { DATABASE_URL, dropSchema, sql, testSchemaName } from './pg-helpers.js';
import { removeTempDirs, tempDir } from './wal-helpers.js';

const info = (index: number, memberId = 0xabcn): SnapshotInfo => ({
  clusterId: 0x1234n,
  memberId,
  term: 2,
  index,
  membership: Buffer.from('{"voters":[1]}'),
});

async function concord(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnTracked(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args]);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

beforeAll(ensureBuilt);
afterEach(() => {
  killAll();
  removeTempDirs();
});

test('list and inspect a file store; --verify catches a corrupt snapshot', async () => {
  const dir = tempDir('concord-cli-');
  const store = new FileSnapshotStore(dir);
  const a = await store.save(info(10), [Buffer.from('ten')]);
  await store.save(info(20, 0xdefn), [Buffer.from('twenty')]);

  const list = await concord('snapshot', 'list', '--store', dir);
  expect(list.code).toBe(0);
  const lines = list.out.trim().split('\n');
  expect(lines[0]).toMatch(/^ID\s+CLUSTER\s+MEMBER\s+TERM\s+INDEX\s+SIZE\s+SHA256\s+CREATED$/);
  expect(lines.slice(1).map((l) => l.split(/\s+/)[4])).toEqual(['20', '10']);

  const json = await concord('snapshot', 'list', '--store', dir, '--member-id', 'abc', '--json');
  expect(
    json.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
  ).toEqual([
    expect.objectContaining({
      id: a.id,
      clusterId: '0000000000001234',
      memberId: '0000000000000abc',
      index: 10,
    }),
  ]);

  const ok = await concord('snapshot', 'inspect', a.id, '--store', dir, '--verify', '--json');
  expect(JSON.parse(ok.out)).toMatchObject({ id: a.id, size: 3, sha256: a.sha256, verified: true });

  const file = path.join(dir, a.id);
  const b = readFileSync(file);
  b[b.length - 48 - 1] ^= 1;
  writeFileSync(file, b);
  const bad = await concord('snapshot', 'inspect', a.id, '--store', dir, '--verify');
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/checksum mismatch/);

  const badId = await concord('snapshot', 'list', '--store', dir, '--cluster-id', 'xyz');
  expect(badId.code).not.toBe(0);
  expect(badId.err).toMatch(/got "xyz"/);
});

test('list a PostgreSQL store picked by URL and schema', async () => {
  const schema = testSchemaName();
  const store = new PostgresSnapshotStore({ connectionString: DATABASE_URL, schema });
  try {
    const m = await store.save(info(7), [Buffer.from('seven')]);
    const sep = DATABASE_URL.includes('?') ? '&' : '?';
    const r = await concord('snapshot', 'list', '--store', `${DATABASE_URL}${sep}schema=${schema}`, '--json');
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toMatchObject({ id: m.id, index: 7, size: 5, sha256: m.sha256 });
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

test('inspect a PostgreSQL store picked by URL and schema; --verify catches a corrupt chunk', async () => {
  const schema = testSchemaName();
  const store = new PostgresSnapshotStore({ connectionString: DATABASE_URL, schema, chunkBytes: 4 });
  try {
    const m = await store.save(info(9), [Buffer.from('nine bytes')]);
    await store.save(info(11), [Buffer.from('eleven')]);
    const sep = DATABASE_URL.includes('?') ? '&' : '?';
    const url = `${DATABASE_URL}${sep}schema=${schema}`;

    const ok = await concord('snapshot', 'inspect', m.id, '--store', url, '--verify', '--json');
    expect([ok.code, ok.err]).toEqual([0, '']);
    expect(JSON.parse(ok.out)).toMatchObject({
      id: m.id,
      clusterId: '0000000000001234',
      memberId: '0000000000000abc',
      term: 2,
      index: 9,
      size: 10,
      sha256: m.sha256,
      verified: true,
    });
    const text = await concord('snapshot', 'inspect', m.id, '--store', url);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^index:\s+9$/m);
    expect(text.out).toMatch(new RegExp(`^sha256:\\s+${m.sha256}$`, 'm'));

    // One byte of the middle chunk flipped in the database: the header still reads, the data does not.
    await sql(
      `UPDATE "${schema}".snapshot_chunks SET data = set_byte(data, 0, get_byte(data, 0) # 1)
       WHERE snapshot_id = $1 AND seq = 1`,
      [m.id],
    );
    const plain = await concord('snapshot', 'inspect', m.id, '--store', url, '--json');
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.out)).not.toHaveProperty('verified');
    const bad = await concord('snapshot', 'inspect', m.id, '--store', url, '--verify');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/checksum mismatch/);

    const missing = await concord('snapshot', 'inspect', '999999', '--store', url);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/999999/);
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});
