/**
 * concord-kv/otel against the target: spans named after etcd's RPCs, with the RPC and database
 * attributes, exported to an in-memory exporter; a failed call's span carries its error; a
 * disabled instrumentation makes none.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { LeaseNotFoundError } from '../../src/index.js';
import { ConcordInstrumentation } from '../../src/otel.js';
import { freePort } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'otel', client: { timeoutMs: 5000 } });
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const instrumentation = new ConcordInstrumentation({ tracerProvider: provider });

afterEach(() => exporter.reset());
afterAll(async () => {
  instrumentation.disable();
  await provider.shutdown();
});

test('each call is a CLIENT span named after its etcd RPC, with RPC and database attributes', async () => {
  const c = etcd.newClient();
  await c.put('otel/a', '1');
  expect(await c.getString('otel/a')).toBe('1');
  await c.delete('otel/a');
  const done = exporter.getFinishedSpans();
  expect(done.map((s) => s.name)).toEqual([
    'etcdserverpb.KV/Put',
    'etcdserverpb.KV/Range',
    'etcdserverpb.KV/DeleteRange',
  ]);
  const [host, port] = c.endpoints[0]!.replace(/^https?:\/\//, '').split(':');
  expect(done[0]!.kind).toBe(SpanKind.CLIENT);
  expect(done[0]!.status.code).not.toBe(SpanStatusCode.ERROR);
  expect(done[0]!.attributes).toEqual({
    'rpc.system': 'grpc',
    'rpc.service': 'etcdserverpb.KV',
    'rpc.method': 'Put',
    'rpc.grpc.status_code': 0,
    'db.system': 'etcd',
    'server.address': host,
    'server.port': Number(port),
    'concord_kv.transport': c.transport,
    'concord_kv.attempts': 1,
  });
  expect(done[0]!.instrumentationScope.name).toBe('concord-kv');
});

test("a failed call's span has status ERROR, the error type and gRPC code, and the exception", async () => {
  const c = etcd.newClient();
  await expect(c.put('otel/e', '1', { lease: 0x7e57n })).rejects.toBeInstanceOf(LeaseNotFoundError);
  const [span] = exporter.getFinishedSpans();
  expect(span!.name).toBe('etcdserverpb.KV/Put');
  expect(span!.status.code).toBe(SpanStatusCode.ERROR);
  expect(span!.attributes['error.type']).toBe('lease-not-found');
  expect(span!.attributes['rpc.grpc.status_code']).toBe(5);
  expect(span!.events.map((e) => e.name)).toEqual(['exception']);
});

test('a call retried on another member ends its span with the member that answered', async () => {
  const dead = `127.0.0.1:${await freePort()}`;
  const c = etcd.newClient([dead, ...etcd.cluster.endpoints]);
  await c.get('otel/r');
  const [span] = exporter.getFinishedSpans();
  expect(span!.attributes['concord_kv.attempts']).toBe(2);
  expect(span!.attributes['server.port']).toBe(Number(c.endpoints[1]!.split(':').at(-1)));
});

test('a disabled instrumentation makes no spans; enabled again, it does', async () => {
  const c = etcd.newClient();
  instrumentation.disable();
  await c.put('otel/off', '1');
  expect(exporter.getFinishedSpans()).toEqual([]);
  instrumentation.enable();
  await c.put('otel/off', '2');
  expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['etcdserverpb.KV/Put']);
});
