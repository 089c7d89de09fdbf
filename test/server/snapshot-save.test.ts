/**
 * Maintenance.Snapshot on Concord: the real `etcdctl snapshot save` writes Concord's snapshot
 * data followed by its SHA-256; `concord snapshot status <file>` verifies that trailer, restores
 * the data and reports the revision and key count written; a flipped byte is refused. The raw
 * gRPC stream has etcd's shape (32 KiB blobs, remainingBytes down to 0, SHA-256 last). On a
 * 3-member cluster every member's stream (through the SDK) ends with the SHA-256 of the rest,
 * and a follower's snapshot at the same revision holds the same keyspace as the leader's.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createChannel, createClient } from 'nice-grpc';
import { MaintenanceDefinition } from '../../src/gen/etcdserverpb/rpc.js';
import { Client, CompactedError } from '../../src/index.js';
import { restore } from '../../src/mvcc/index.js';
import { type Concord, ensureServerBuilt, MAIN, startConcord } from '../harness/concord.js';
import { type EtcdCluster, freePort, runEtcdctl, startEtcd, waitFor } from '../harness/etcd.js';
import { ROOT } from '../harness/fixtures.js';

let server: Concord | undefined;
let cluster: EtcdCluster | undefined;
let tmp = '';
/** What the first test saved: its revision and the cluster it came from. */
let savedRev = 0n;
let savedCluster = 0n;

beforeAll(async () => {
  ensureServerBuilt();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-snapsave-'));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await cluster?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function concordCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function splitTrailer(buf: Buffer): { data: Buffer; sha: Buffer } {
  return { data: buf.subarray(0, buf.length - 32), sha: buf.subarray(buf.length - 32) };
}

test('etcdctl snapshot save writes a file that concord snapshot status verifies', async () => {
  server = await startConcord();
  const client = new Client({ endpoints: [server.endpoint] });
  let rev = 0n;
  try {
    for (let i = 0; i < 200; i++)
      rev = (await client.put(`snap/k${i}`, `value-${i}`.repeat(50))).header.revision;
    // A deleted key and an overwritten one: the count is of live keys.
    rev = (await client.delete('snap/k0')).header.revision;
    const last = await client.put('snap/k1', 'again');
    rev = last.header.revision;
    savedRev = rev;
    savedCluster = last.header.clusterId;
  } finally {
    await client.close();
  }
  const file = path.join(tmp, 'single.db');
  const saved = await runEtcdctl(['--endpoints', server.endpoint, 'snapshot', 'save', file], {
    timeoutMs: 30_000,
  });
  expect({ code: saved.code, stderr: saved.code === 0 ? '' : saved.stderr }).toEqual({ code: 0, stderr: '' });
  const buf = await readFile(file);
  // etcdctl's own acceptance test: data in 512-byte sectors plus the 32-byte SHA-256.
  expect(buf.length % 512).toBe(32);
  const { data, sha } = splitTrailer(buf);
  expect(createHash('sha256').update(data).digest().equals(sha)).toBe(true);

  const st = await concordCli(['snapshot', 'status', '--json', file]);
  expect(st.stderr).toBe('');
  expect(st.code).toBe(0);
  const status = JSON.parse(st.stdout) as Record<string, number>;
  expect(status).toEqual({
    hash: expect.any(Number),
    revision: Number(rev),
    totalKey: 199,
    totalSize: data.length,
  });
  // `inspect` on a file (no --store) is the same check.
  const inspected = await concordCli(['snapshot', 'inspect', '--json', file]);
  expect(JSON.parse(inspected.stdout)).toEqual(status);
  const table = await concordCli(['snapshot', 'status', file]);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/HASH\s+REVISION\s+TOTAL KEYS\s+TOTAL SIZE/);
  expect(table.stdout).toContain(` ${rev} `);

  // One flipped byte in the data: the trailer no longer matches.
  const bad = Buffer.from(buf);
  bad[Math.floor(data.length / 2)]! ^= 0x01;
  const badFile = path.join(tmp, 'flipped.db');
  await writeFile(badFile, bad);
  const refused = await concordCli(['snapshot', 'status', badFile]);
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe('');
  expect(refused.stderr).toMatch(/SHA-256 mismatch.*corrupted/);

  // A file whose trailer matches but whose data is not Concord's (e.g. etcd's bbolt file).
  const foreign = Buffer.alloc(512, 7);
  const foreignFile = path.join(tmp, 'foreign.db');
  await writeFile(foreignFile, Buffer.concat([foreign, createHash('sha256').update(foreign).digest()]));
  const notOurs = await concordCli(['snapshot', 'status', foreignFile]);
  expect(notOurs.code).toBe(1);
  expect(notOurs.stderr).toMatch(/not a Concord snapshot \(wrong magic\)/);
}, 120_000);

test('concord snapshot restore makes a new member from an etcdctl-saved file; old revisions read as compacted', async () => {
  const file = path.join(tmp, 'single.db');
  const peer = `http://127.0.0.1:${await freePort()}`;
  const dataDir = path.join(tmp, 'restored');
  const restoreTo = (src: string, extra: string[] = []) =>
    concordCli([
      'snapshot',
      'restore',
      src,
      '--data-dir',
      dataDir,
      '--initial-advertise-peer-urls',
      peer,
      ...extra,
    ]);
  const r = await restoreTo(file, ['--bump-revision', '1000', '--json']);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  const bumped = Number(savedRev) + 1000;
  expect(JSON.parse(r.stdout)).toMatchObject({
    keys: 199,
    fromRevision: Number(savedRev),
    revision: bumped,
    compactRevision: bumped,
  });
  // Refusals leave the data dir as it is: an existing one, a corrupted file, a foreign file.
  const again = await restoreTo(file);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/already holds a member's data: restore into a new directory/);
  for (const [bad, why] of [
    ['flipped.db', /SHA-256 mismatch.*corrupted/],
    ['foreign.db', /not a Concord snapshot \(wrong magic\)/],
  ] as const) {
    const x = await concordCli([
      'snapshot',
      'restore',
      path.join(tmp, bad),
      '--data-dir',
      path.join(tmp, `x-${bad}`),
    ]);
    expect(x.code).toBe(1);
    expect(x.stderr).toMatch(why);
  }
  const both = await concordCli([
    'snapshot',
    'restore',
    file,
    '--store',
    tmp,
    '--data-dir',
    path.join(tmp, 'x'),
  ]);
  expect(both.stderr).toMatch(/either a snapshot file or --store, not both/);

  const restored = await startConcord({ dataDir, args: ['--listen-peer-urls', peer] });
  const client = new Client({ endpoints: [restored.endpoint] });
  try {
    const all = await client.range({ prefix: 'snap/' });
    expect(all.kvs).toHaveLength(199);
    expect(all.header.revision).toBe(BigInt(bumped));
    expect(all.header.clusterId).not.toBe(savedCluster);
    expect(await client.get('snap/k1')).toMatchObject({ value: Buffer.from('again') });
    expect((await client.get('snap/k7'))?.value.toString()).toBe(`value-7`.repeat(50));
    await expect(client.get('snap/k1', { revision: savedRev })).rejects.toBeInstanceOf(CompactedError);
    expect((await client.put('snap/new', 'x')).header.revision).toBe(BigInt(bumped + 1));
  } finally {
    await client.close();
    await restored.close();
  }
}, 120_000);

test('the stream is etcd-shaped: 32 KiB blobs, remainingBytes counting down to 0, the SHA-256 last', async () => {
  // Runs after the first test, on its member and data.
  const channel = createChannel(server!.endpoint);
  try {
    const raw = createClient(MaintenanceDefinition, channel);
    const msgs = [];
    for await (const m of raw.snapshot({})) msgs.push(m);
    expect(msgs.length).toBeGreaterThan(3);
    const data = msgs.slice(0, -1);
    const total = data.reduce((n, m) => n + m.blob.length, 0);
    expect(total % 512).toBe(0);
    let left = total;
    for (const m of data) {
      expect(m.blob.length).toBeLessThanOrEqual(32 * 1024);
      left -= m.blob.length;
      expect(m.remainingBytes).toBe(BigInt(left));
      expect(m.header?.revision).toBeGreaterThan(0n);
    }
    const last = msgs[msgs.length - 1]!;
    expect(last.remainingBytes).toBe(0n);
    const sha = createHash('sha256');
    for (const m of data) sha.update(m.blob);
    expect(last.blob.equals(sha.digest())).toBe(true);
  } finally {
    channel.close();
  }
}, 60_000);

test('on 3 members, each streams its state ending with its SHA-256; a follower matches the leader', async () => {
  cluster = await startEtcd({ members: 3, bin: path.join(ROOT, 'test/harness/concord-as-etcd') });
  const client = new Client({ endpoints: cluster.endpoints });
  try {
    let rev = 0n;
    for (let i = 0; i < 50; i++) rev = (await client.put(`c/k${i}`, `v${i}`)).header.revision;
    const leader = await cluster.leaderIndex();
    const follower = (leader + 1) % 3;
    // A follower applies asynchronously: wait until it has this revision.
    await waitFor(
      async () => (await client.maintenance.status({ endpoint: follower })).header.revision === rev,
      { timeoutMs: 10_000, what: 'the follower to apply the last put' },
    );
    const take = async (endpoint: number) => {
      const chunks: Buffer[] = [];
      for await (const c of client.maintenance.snapshot({ endpoint, timeoutMs: 20_000 })) chunks.push(c);
      const { data, sha } = splitTrailer(Buffer.concat(chunks));
      // The trailer arrives as its own message, as etcd sends it.
      expect(chunks[chunks.length - 1]!.length).toBe(32);
      expect(createHash('sha256').update(data).digest().equals(sha)).toBe(true);
      const sm = await restore([data]);
      return { revision: sm.kv.currentRev, keys: sm.kv.index.size, hash: sm.hashKV(0).hash };
    };
    const fromLeader = await take(leader);
    const fromFollower = await take(follower);
    expect(fromLeader.revision).toBe(Number(rev));
    expect(fromLeader.keys).toBe(50);
    expect(fromFollower).toEqual(fromLeader);
  } finally {
    await client.close();
  }
}, 180_000);
