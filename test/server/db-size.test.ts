/**
 * What `Status.dbSize` / `dbSizeInUse` and `etcd_mvcc_db_total_size_in_bytes` report (issue 16,
 * item 4), as docs/operations.md documents them: the bytes of every revision the keyspace keeps
 * (key + value + 64 bytes each), the same figure --quota-backend-bytes is compared against. Writes
 * add to it (an overwrite keeps the old revision until compaction), compaction takes away the
 * revisions it drops, and NOSPACE comes exactly when a write's cost (etcd's: key + value + 256)
 * would take it past the quota.
 */
import { Client, NoSpaceError } from '../../src/index.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';

const QUOTA = 200_000;
const PER_REVISION = 64;
const PUT_COST_OVERHEAD = 256;
let server: Concord;
let client: Client;

beforeAll(async () => {
  ensureServerBuilt();
  server = await startConcord({
    args: ['--quota-backend-bytes', String(QUOTA), '--listen-metrics-urls', 'http://127.0.0.1:0'],
  });
  client = new Client({ endpoints: [server.endpoint] });
}, 120_000);

afterAll(async () => {
  client?.close();
  await server?.close();
});

const metricsUrl = () => {
  const line = server.proc.lines.find((l) => l.includes('http: '))!;
  return `http://${/http: (\S+?)\)/.exec(line)![1]}/metrics`;
};

async function sizes(): Promise<{ dbSize: number; inUse: number; metric: number }> {
  const st = await client.maintenance.status();
  const text = await (await fetch(metricsUrl())).text();
  const metric = Number(/^etcd_mvcc_db_total_size_in_bytes (\S+)$/m.exec(text)?.[1]);
  return { dbSize: Number(st.dbSize), inUse: Number(st.dbSizeInUse), metric };
}

test('sizes grow by each revision kept, shrink on compaction, and NOSPACE comes at the quota', async () => {
  const empty = await sizes();
  expect(empty).toEqual({ dbSize: empty.inUse, inUse: empty.inUse, metric: empty.inUse });

  // 50 keys of 1,000 bytes: each revision counts key + value + 64.
  const value = 'v'.repeat(1000);
  for (let i = 0; i < 50; i++) await client.put(`size/${String(i).padStart(2, '0')}`, value);
  const written = await sizes();
  const perKey = 'size/00'.length + value.length + PER_REVISION;
  expect(written.dbSize - empty.dbSize).toBe(50 * perKey);
  expect(written.inUse).toBe(written.dbSize);
  expect(written.metric).toBe(written.dbSize);

  // Overwriting keeps the old revisions until they are compacted.
  let last = 0n;
  for (let i = 0; i < 50; i++)
    last = (await client.put(`size/${String(i).padStart(2, '0')}`, value)).header.revision;
  const overwritten = await sizes();
  expect(overwritten.dbSize - written.dbSize).toBe(50 * perKey);

  await client.compact(last);
  const compacted = await sizes();
  expect(compacted.dbSize).toBe(written.dbSize);
  expect(compacted.metric).toBe(compacted.dbSize);

  // Fill to the quota: the refused write is the first that would pass it.
  let refused: unknown;
  let before = compacted.dbSize;
  for (let i = 0; i < 1000 && !refused; i++) {
    before = (await sizes()).dbSize;
    await client.put(`fill/${String(i).padStart(4, '0')}`, value).catch((e: unknown) => {
      refused = e;
    });
  }
  expect(refused).toBeInstanceOf(NoSpaceError);
  const atQuota = await sizes();
  expect(atQuota.dbSize).toBe(before);
  expect(atQuota.dbSize).toBeLessThanOrEqual(QUOTA);
  // A put's cost is etcd's: key + value + 256 (what it may take before compaction reclaims any).
  expect(atQuota.dbSize + 'fill/0000'.length + value.length + PUT_COST_OVERHEAD).toBeGreaterThan(QUOTA);
}, 120_000);
