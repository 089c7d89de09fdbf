/** PostgreSQL store specifics against the real server: memory, deadlines, schema versioning. */
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import {
  PostgresSnapshotStore,
  SnapshotFormatError,
  StoreDeadlineError,
  StoreUnavailableError,
} from '../../src/storage/index.js';
import { freePort } from '../harness/etcd.js';
import { ensureBuilt, killAll, ROOT, spawnTracked } from '../harness/fixtures.js';
import { DATABASE_URL, dropSchema, sql, testSchemaName } from './pg-helpers.js';

const schemas: string[] = [];
const stores: PostgresSnapshotStore[] = [];
function store(
  opts: Partial<ConstructorParameters<typeof PostgresSnapshotStore>[0]> = {},
): PostgresSnapshotStore {
  const schema = opts.schema ?? testSchemaName();
  if (!schemas.includes(schema)) schemas.push(schema);
  const s = new PostgresSnapshotStore({ connectionString: DATABASE_URL, ...opts, schema });
  stores.push(s);
  return s;
}
const info = (index: number) => ({
  clusterId: 1n,
  memberId: 1n,
  term: 1,
  index,
  membership: new Uint8Array(),
});

/** Accepts TCP connections and never answers: a database that hangs. */
async function blackHole(): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server, sockets };
}

beforeAll(ensureBuilt);
afterEach(async () => {
  killAll();
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const s of schemas.splice(0)) await dropSchema(s);
});

test('a 256 MiB snapshot round-trips with live memory growth well under 64 MiB', async () => {
  const schema = testSchemaName();
  schemas.push(schema);
  const p = spawnTracked(
    process.execPath,
    ['--expose-gc', path.join(ROOT, 'test/storage/fixtures/pg-roundtrip.mjs')],
    { DATABASE_URL, SCHEMA: schema, SIZE_MIB: '256' },
  );
  const code = await p.exited;
  expect({ code, stderr: p.stderr() }).toEqual({ code: 0, stderr: '' });
  const r = JSON.parse(p.lines.at(-1)!);
  console.log(`pg 256 MiB round trip: ${p.lines.at(-1)}`);
  expect(r).toMatchObject({ size: 256 * 1024 * 1024, expected: 256 * 1024 * 1024, sameBytes: true });
  expect(r.peakMiB.heap).toBeLessThan(32);
  expect(r.peakMiB.heapAndBuffers).toBeLessThan(48);
}, 90000);

test('a closed port fails the call at once with StoreUnavailableError', async () => {
  const s = new PostgresSnapshotStore({
    connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/test`,
  });
  stores.push(s);
  await expect(s.list(undefined, { timeoutMs: 2000 })).rejects.toThrow(StoreUnavailableError);
  await expect(s.save(info(1), [Buffer.from('x')], { timeoutMs: 2000 })).rejects.toThrow(
    StoreUnavailableError,
  );
});

test('a database that never answers does not hold the caller past its deadline', async () => {
  const hole = await blackHole();
  try {
    const s = new PostgresSnapshotStore({
      connectionString: `postgres://postgres@127.0.0.1:${hole.port}/test`,
      connectTimeoutMs: 60_000,
    });
    stores.push(s);
    const t0 = performance.now();
    const err = await s.list(undefined, { timeoutMs: 300 }).catch((e: unknown) => e);
    console.log(
      `black-hole database: list rejected after ${Math.round(performance.now() - t0)} ms (deadline 300 ms)`,
    );
    expect(err).toBeInstanceOf(StoreDeadlineError);
    expect((err as Error).message).toMatch(/list: deadline of 300 ms exceeded/);
    const ctl = new AbortController();
    const saving = s.save(info(1), [Buffer.from('x')], { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 50);
    await expect(saving).rejects.toThrow(StoreDeadlineError);
  } finally {
    for (const c of hole.sockets) c.destroy();
    await new Promise((r) => hole.server.close(r));
  }
});

test('a blocked table (slow database) hits the deadline and the save leaves nothing behind', async () => {
  const s = store();
  await s.save(info(1), [Buffer.from('first')]);
  const { Client } = (await import('pg')).default;
  const locker = new Client({ connectionString: DATABASE_URL });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${s.schema}".snapshots IN ACCESS EXCLUSIVE MODE`);
    await expect(s.list(undefined, { timeoutMs: 300 })).rejects.toThrow(StoreDeadlineError);
    await locker.query('ROLLBACK');
  } finally {
    await locker.end();
  }
  // A save whose source stalls mid-stream: the deadline aborts it and the transaction rolls back.
  async function* stalls() {
    yield Buffer.alloc(3000, 1);
    await new Promise((r) => setTimeout(r, 5000).unref());
    yield Buffer.alloc(10, 2);
  }
  await expect(s.save(info(2), stalls(), { timeoutMs: 300 })).rejects.toThrow(StoreDeadlineError);
  expect((await s.list()).map((m) => m.index)).toEqual([1]);
  expect(Number((await sql(`SELECT count(*) AS n FROM "${s.schema}".snapshot_chunks`)).rows[0].n)).toBe(1);
});

test('the schema is created on first use, once, even by stores starting together', async () => {
  const schema = testSchemaName();
  const a = store({ schema });
  const b = store({ schema });
  await Promise.all([a.save(info(1), [Buffer.from('a')]), b.list()]);
  expect((await b.list()).length).toBe(1);
  expect((await sql(`SELECT version FROM "${schema}".concord_schema`)).rows).toEqual([{ version: 1 }]);
});

test('a schema written by a newer version is refused clearly', async () => {
  const schema = testSchemaName();
  await store({ schema }).list();
  await sql(`UPDATE "${schema}".concord_schema SET version = 99`);
  await expect(store({ schema }).list()).rejects.toThrow(SnapshotFormatError);
  await expect(store({ schema }).list()).rejects.toThrow(/at version 99, this build knows up to 1/);
});

test('saving the same snapshot twice (a retried upload) returns the stored one', async () => {
  const s = store({ chunkBytes: 4 });
  const first = await s.save(info(5), [Buffer.from('0123456789')]);
  const again = await s.save(info(5), [Buffer.from('0123456789')]);
  expect(again).toEqual(first);
  expect((await s.list()).length).toBe(1);
});

test('options are validated', () => {
  expect(() => new PostgresSnapshotStore({ connectionString: DATABASE_URL, schema: 'x; drop' })).toThrow(
    /schema must be a plain identifier, got "x; drop"/,
  );
  expect(() => new PostgresSnapshotStore({ connectionString: DATABASE_URL, chunkBytes: 0 })).toThrow(/got 0/);
});
