/**
 * SnapshotSharing reports each failed upload to the shared store in the member's Prometheus
 * counter concord_snapshot_store_upload_failures_total (issue 5: "the failure is reported (log +
 * metric)"), here against a PostgreSQL store on a closed port, read from the registry's text.
 */
import { SnapshotSharing } from '../../src/server/bootstrap/snapshot-sharing.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { FileSnapshotStore, PostgresSnapshotStore } from '../../src/storage/index.js';
import { freePort } from '../harness/etcd.js';
import { removeTempDirs, tempDir } from '../storage/wal-helpers.js';

afterEach(removeTempDirs);

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

test('a failed upload to the shared store raises concord_snapshot_store_upload_failures_total', async () => {
  const metrics = new ServerMetrics({
    hasLeader: () => true,
    isLeader: () => true,
    dbSizeBytes: () => 0,
    watchers: () => 0,
  });
  const local = new FileSnapshotStore(tempDir('concord-sharing-'));
  const shared = new PostgresSnapshotStore({
    connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x`,
  });
  const logs: string[] = [];
  const sharing = new SnapshotSharing(shared, local, {
    clusterId: 7n,
    memberId: 1n,
    retain: 2,
    isLeader: () => true,
    log: (m) => logs.push(m),
    metrics,
  });
  try {
    const text0 = await metrics.registry.metrics();
    expect(sample(text0, 'concord_snapshot_store_upload_failures_total')).toBe(0);
    const meta = await local.save(
      { clusterId: 7n, memberId: 1n, term: 2, index: 40, membership: new Uint8Array() },
      [Buffer.from('state at 40')],
    );
    sharing.offer(meta);
    const deadline = Date.now() + 20_000;
    let failures = 0;
    while (failures < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      failures =
        sample(await metrics.registry.metrics(), 'concord_snapshot_store_upload_failures_total') ?? 0;
    }
    expect(failures).toBeGreaterThanOrEqual(1);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'concord_snapshot_store_uploads_total')).toBe(0);
    expect(logs.join('\n')).toMatch(/snapshot upload of index 40 to postgres store failed/);
  } finally {
    await sharing.close();
  }
}, 30_000);
