/**
 * /metrics against a real `concord serve`: after writes, a watch and a lease keepalive, the
 * Prometheus text (on the client port and on --listen-metrics-urls) shows etcd's metrics with
 * values that follow what was done — leader, proposals, WAL fsync histogram, watcher and watch
 * stream gauges up while a watch is open and down after it is cancelled, gRPC call counters.
 */
import { createChannel, createClient } from 'nice-grpc';
import {
  type DeepPartial,
  LeaseDefinition,
  type LeaseKeepAliveRequest,
  WatchDefinition,
  type WatchRequest,
} from '../../src/gen/etcdserverpb/rpc.js';
import { Client } from '../../src/index.js';
import { BatchQueue } from '../../src/transport/batch-queue.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';
import { freePort, waitFor, withTimeout } from '../harness/etcd.js';

let server: Concord;
let client: Client;
let metricsPort: number;

beforeAll(async () => {
  ensureServerBuilt();
  metricsPort = await freePort();
  server = await startConcord({ args: ['--listen-metrics-urls', `http://127.0.0.1:${metricsPort}`] });
  client = new Client({ endpoints: [server.endpoint] });
}, 120_000);

afterAll(async () => {
  client?.close();
  await server?.close();
});

interface Scrape {
  contentType: string;
  /** Value of the sample with exactly this name and these labels (label order ignored). */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

/** Parses the Prometheus text format: `name{a="x",b="y"} value` lines, comments skipped. */
async function scrape(port = server.port): Promise<Scrape> {
  const res = await withTimeout(fetch(`http://127.0.0.1:${port}/metrics`), 5000, 'GET /metrics');
  expect(res.status).toBe(200);
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => `${k}=${v}`).sort();
    samples.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return {
    contentType: res.headers.get('content-type') ?? '',
    value(name, labels = {}) {
      const key = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .sort();
      return samples.get(`${name}{${key.join(',')}}`);
    },
  };
}

const WATCH_LABELS = { grpc_type: 'bidi_stream', grpc_service: 'etcdserverpb.Watch', grpc_method: 'Watch' };

test('every served gRPC method has its call counters at 0 before its first call (as etcd)', async () => {
  // Regression: counters appeared only with a method's first call, so a test comparing a
  // member's Watch counters before and after found nothing on a member never watched.
  const s = await scrape();
  expect(s.value('grpc_server_started_total', WATCH_LABELS)).toBe(0);
  for (const code of ['OK', 'Canceled', 'Unavailable', 'Unauthenticated'])
    expect(s.value('grpc_server_handled_total', { ...WATCH_LABELS, grpc_code: code })).toBe(0);
  const moveLeader = {
    grpc_type: 'unary',
    grpc_service: 'etcdserverpb.Maintenance',
    grpc_method: 'MoveLeader',
  };
  expect(s.value('grpc_server_started_total', moveLeader)).toBe(0);
  expect(s.value('grpc_server_handled_total', { ...moveLeader, grpc_code: 'Unimplemented' })).toBe(0);
  expect(
    s.value('grpc_server_started_total', {
      grpc_type: 'bidi_stream',
      grpc_service: 'etcdserverpb.Lease',
      grpc_method: 'LeaseKeepAlive',
    }),
  ).toBe(0);
});

test('etcd metrics follow writes, watches and lease keepalives', async () => {
  const before = await scrape();
  expect(before.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(before.value('etcd_server_has_leader')).toBe(1);
  expect(before.value('etcd_server_is_leader')).toBe(1);
  expect(before.value('etcd_server_leader_changes_seen_total')).toBe(1);
  const committed0 = before.value('etcd_server_proposals_committed_total') ?? Number.NaN;
  const applied0 = before.value('etcd_server_proposals_applied_total') ?? Number.NaN;
  const fsyncs0 = before.value('etcd_disk_wal_fsync_duration_seconds_count') ?? Number.NaN;
  const watchStarted0 = before.value('grpc_server_started_total', WATCH_LABELS) ?? 0;

  const WRITES = 5;
  for (let i = 0; i < WRITES; i++) await client.put(`m/${i}`, 'v');

  const afterWrites = await scrape();
  expect(afterWrites.value('etcd_server_proposals_committed_total')).toBeGreaterThanOrEqual(
    committed0 + WRITES,
  );
  expect(afterWrites.value('etcd_server_proposals_applied_total')).toBeGreaterThanOrEqual(applied0 + WRITES);
  expect(afterWrites.value('etcd_server_proposals_pending')).toBe(0);
  expect(afterWrites.value('etcd_server_proposals_failed_total')).toBe(0);
  expect(afterWrites.value('etcd_disk_wal_fsync_duration_seconds_count')).toBeGreaterThan(fsyncs0);
  expect(afterWrites.value('etcd_mvcc_db_total_size_in_bytes')).toBeGreaterThan(0);
  expect(
    afterWrites.value('grpc_server_handled_total', {
      grpc_type: 'unary',
      grpc_service: 'etcdserverpb.KV',
      grpc_method: 'Put',
      grpc_code: 'OK',
    }),
  ).toBeGreaterThanOrEqual(WRITES);
  expect(afterWrites.value('etcd_debugging_mvcc_watcher_total')).toBe(0);
  expect(afterWrites.value('etcd_debugging_mvcc_watch_stream_total')).toBe(0);

  // A raw Watch stream with two watchers.
  const channel = createChannel(server.endpoint);
  try {
    const requests = new BatchQueue<DeepPartial<WatchRequest>>();
    const abort = new AbortController();
    const responses = createClient(WatchDefinition, channel)
      .watch(requests, { signal: abort.signal })
      [Symbol.asyncIterator]();
    const next = async () => {
      const r = await withTimeout(responses.next(), 5000, 'a watch response');
      if (r.done) throw new Error('watch stream ended');
      return r.value;
    };
    for (const key of ['m/0', 'm/1'])
      requests.push({ createRequest: { key: Buffer.from(key), rangeEnd: Buffer.alloc(0) } });
    expect((await next()).created).toBe(true);
    expect((await next()).created).toBe(true);
    const open = await scrape();
    expect(open.value('etcd_debugging_mvcc_watcher_total')).toBe(2);
    expect(open.value('etcd_debugging_mvcc_watch_stream_total')).toBe(1);
    expect(open.value('grpc_server_started_total', WATCH_LABELS)).toBe(watchStarted0 + 1);

    // Cancelling one watcher lowers the watcher gauge; ending the stream lowers both.
    requests.push({ cancelRequest: { watchId: 0n } });
    expect((await next()).canceled).toBe(true);
    expect((await scrape()).value('etcd_debugging_mvcc_watcher_total')).toBe(1);
    abort.abort();
    await waitFor(
      async () => {
        const s = await scrape();
        return (
          s.value('etcd_debugging_mvcc_watcher_total') === 0 &&
          s.value('etcd_debugging_mvcc_watch_stream_total') === 0
        );
      },
      { what: 'watch gauges back to 0 after the stream is cancelled' },
    );
    await waitFor(
      async () =>
        (await scrape()).value('grpc_server_handled_total', { ...WATCH_LABELS, grpc_code: 'Canceled' }) === 1,
      { what: 'the cancelled Watch counted as handled with code Canceled' },
    );

    // A lease keepalive on the raw LeaseKeepAlive stream.
    const lease = await client.lease({ ttl: 30, keepAlive: false });
    const kaRequests = new BatchQueue<LeaseKeepAliveRequest>();
    const kaAbort = new AbortController();
    const kaResponses = createClient(LeaseDefinition, channel)
      .leaseKeepAlive(kaRequests, { signal: kaAbort.signal })
      [Symbol.asyncIterator]();
    kaRequests.push({ ID: lease.id });
    const ka = await withTimeout(kaResponses.next(), 5000, 'a keepalive response');
    expect(ka.done).toBe(false);
    expect(ka.value?.TTL).toBe(30n);
    kaAbort.abort();
    const afterLease = await scrape();
    expect(
      afterLease.value('grpc_server_started_total', {
        grpc_type: 'bidi_stream',
        grpc_service: 'etcdserverpb.Lease',
        grpc_method: 'LeaseKeepAlive',
      }),
    ).toBe(1);
    expect(afterLease.value('etcd_server_proposals_applied_total')).toBeGreaterThanOrEqual(
      applied0 + WRITES + 1,
    );
  } finally {
    channel.close();
  }

  // The same registry is served on --listen-metrics-urls.
  const other = await scrape(metricsPort);
  expect(other.value('etcd_server_has_leader')).toBe(1);
  expect(other.value('etcd_server_proposals_applied_total')).toBeGreaterThanOrEqual(applied0 + WRITES + 1);
}, 60_000);
