/**
 * PostgreSQL snapshots end to end, on real Concord processes and the real database:
 *
 * - with `--snapshot-store postgres://…` the leader uploads each new snapshot, once per index;
 * - a member added later with an empty data dir starts from the newest snapshot in the database
 *   and catches up from the leader's log: its log and metrics say so, and no member streamed it
 *   a full snapshot (etcd_network_snapshot_{send,receive}_success stay absent);
 * - after every member is killed and every data dir deleted, `concord snapshot restore --store`
 *   builds a new cluster (new cluster ID, revision bumped and compacted below) that holds every
 *   key written before the snapshot.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { type Client, CompactedError } from '../../src/index.js';
import { PostgresSnapshotStore, type SnapshotMeta } from '../../src/storage/index.js';
import { testClients } from '../harness/clients.js';
import { ensureServerBuilt, MAIN } from '../harness/concord.js';
import { waitFor } from '../harness/etcd.js';
import { killAll } from '../harness/fixtures.js';
import { DATABASE_URL, dropSchema, testSchemaName } from '../storage/pg-helpers.js';
import { newProcs, type Proc, startMember } from './members.js';

const schema = testSchemaName();
const storeUrl = (() => {
  const u = new URL(DATABASE_URL);
  u.searchParams.set('schema', schema);
  return u.toString();
})();
let dir: string;
let store: PostgresSnapshotStore;
const clientFor = testClients({ timeoutMs: 15_000 });

beforeAll(async () => {
  ensureServerBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-pgsnap-'));
  store = new PostgresSnapshotStore({ connectionString: DATABASE_URL, schema });
});
afterAll(async () => {
  killAll();
  await store.close();
  await dropSchema(schema);
  await rm(dir, { recursive: true, force: true });
});

const procs = newProcs;
const start = (p: Proc, cluster: Proc[], state: 'new' | 'existing') =>
  startMember(dir, p, cluster, state, ['--snapshot-count', '150', '--snapshot-store', storeUrl]);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** One metric's samples from a member's /metrics, as `name{labels} value` lines. */
async function samples(p: Proc, name: string): Promise<string[]> {
  // No keep-alive: a pooled socket would outlive the test.
  const text = await new Promise<string>((resolve, reject) => {
    get(`http://${p.client}/metrics`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve(body)).on('error', reject);
    }).on('error', reject);
  });
  return text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
}
const sumOf = (lines: string[]) => lines.reduce((n, l) => n + Number(l.split(' ').pop()), 0);

async function putAll(c: Client, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 25)
    await Promise.all(
      Array.from({ length: Math.min(25, to - i) }, (_, j) =>
        c.put(`key/${String(i + j).padStart(5, '0')}`, `value-${i + j}`),
      ),
    );
}

async function newestInStore(): Promise<SnapshotMeta | undefined> {
  return store.latest();
}

let original: Proc[] = [];
let written = 0;
let clusterId = 0n;
let lastRevision = 0n;

test('a member added later starts from the newest PostgreSQL snapshot and gets no snapshot streamed', async () => {
  original = await procs(3, 'p');
  await Promise.all(original.map((p) => start(p, original, 'new')));
  const admin = clientFor(original.map((p) => p.client));
  await putAll(admin, 0, 400);
  written = 400;
  // The leader uploads as it snapshots (every 150 applied entries).
  await waitFor(async () => ((await newestInStore())?.index ?? 0) >= 300, {
    timeoutMs: 30_000,
    what: 'a snapshot at index ≥ 300 in PostgreSQL',
  });
  // Entries after the newest snapshot: the new member must get these from the leader's log.
  await putAll(admin, 400, 450);
  written = 450;
  const inDb = await newestInStore();

  const [fresh] = await procs(1, 'p3');
  const added = await admin.cluster.add([fresh!.peer], { learner: true });
  await start(fresh!, [...original, fresh!], 'existing');
  const own = clientFor([fresh!.client]);
  await waitFor(
    async () => (await own.range({ prefix: 'key/' }, { serializable: true, countOnly: true })).count === 450n,
    { timeoutMs: 30_000, what: 'the new member to hold every key' },
  );
  const log = fresh!.proc!.stderr();
  expect(log).toMatch(/started from snapshot \S+ at index \d+ of the postgres snapshot store/);
  const startedAt = Number(/at index (\d+) of the postgres snapshot store/.exec(log)![1]);
  expect(startedAt).toBeGreaterThanOrEqual(inDb!.index);
  expect(log).not.toMatch(/received snapshot/);
  expect(sumOf(await samples(fresh!, 'concord_snapshot_store_bootstrap_index'))).toBe(startedAt);
  expect(await samples(fresh!, 'etcd_network_snapshot_receive_success')).toEqual([]);
  for (const p of original) expect(await samples(p, 'etcd_network_snapshot_send_success')).toEqual([]);
  // Caught up, it can be promoted; its keyspace is the leader's.
  expect(await admin.cluster.promote(added.member!.id)).toBeDefined();
  const leaderRev = (await admin.maintenance.status()).header.revision;
  const mine = await own.maintenance.hashKV(leaderRev);
  const theirs = await clientFor([original[0]!.client]).maintenance.hashKV(leaderRev);
  expect(mine.hash).toBe(theirs.hash);

  // Uploads: only ever one snapshot per index in the database, and only leaders uploaded.
  const rows = await store.list();
  expect(new Set(rows.map((r) => r.index)).size).toBe(rows.length);
  let uploads = 0;
  for (const p of original) uploads += sumOf(await samples(p, 'concord_snapshot_store_uploads_total'));
  expect(uploads).toBeGreaterThanOrEqual(1);
  original.push(fresh!);
  clusterId = (await admin.maintenance.status()).header.clusterId;
}, 150_000);

test('a whole cluster is restored from PostgreSQL after every data dir is deleted', async () => {
  const admin = clientFor(original.map((p) => p.client));
  const status = await admin.maintenance.status();
  // Everything written so far is in the log up to this index; write on until a snapshot covers it.
  const covered = Number(status.raftIndex);
  let filler = 0;
  while (((await newestInStore())?.index ?? 0) < covered) {
    await admin.put(`filler/${filler % 10}`, `f${filler}`);
    filler++;
    if (filler > 2000) throw new Error('no snapshot covering the writes reached PostgreSQL');
  }
  lastRevision = (await admin.range({ prefix: 'key/' }, { countOnly: true })).header.revision;
  killAll();
  for (const p of original) await p.proc!.exited;
  for (const p of original) await rm(path.join(dir, p.name), { recursive: true, force: true });

  const restored = await procs(3, 'r');
  const initialCluster = restored.map((m) => `${m.name}=${m.peer}`).join(',');
  for (const p of restored) {
    const r = await cli([
      'snapshot',
      'restore',
      '--store',
      storeUrl,
      '--data-dir',
      path.join(dir, p.name),
      '--name',
      p.name,
      '--initial-cluster',
      initialCluster,
      '--initial-advertise-peer-urls',
      p.peer,
      '--json',
    ]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(r.stdout) as { keys: number; revision: number; compactRevision: number };
    expect(out.keys).toBeGreaterThanOrEqual(written);
    expect(out.compactRevision).toBe(out.revision);
  }
  await Promise.all(restored.map((p) => start(p, restored, 'new')));
  const c = clientFor(restored.map((p) => p.client));
  const all = await c.range({ prefix: 'key/' });
  expect(all.kvs.length).toBe(written);
  for (let i = 0; i < written; i++) {
    const kv = all.kvs[i]!;
    expect([kv.key.toString(), kv.value.toString()]).toEqual([
      `key/${String(i).padStart(5, '0')}`,
      `value-${i}`,
    ]);
  }
  // A new cluster: its own ID, revisions past the old ones, and the old ones compacted.
  const st = await c.maintenance.status();
  expect(st.header.clusterId).not.toBe(clusterId);
  expect(st.header.revision).toBeGreaterThan(lastRevision + 999_000n);
  await expect(c.get('key/00000', { revision: lastRevision })).rejects.toBeInstanceOf(CompactedError);
  expect((await c.put('after/restore', 'yes')).header.revision).toBe(st.header.revision + 1n);
}, 150_000);
