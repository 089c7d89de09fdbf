/**
 * etcd's JSON gateway on the client port: unary calls as `POST /v3/...` with etcd's JSON
 * (proto field names, 64-bit integers as strings, bytes in base64), errors as
 * {error, code, message} with grpc-gateway's HTTP status.
 */
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';

let server: Concord;

beforeAll(async () => {
  ensureServerBuilt();
  server = await startConcord();
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://${server.endpoint}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('put, range, txn, member list and status in etcd gateway JSON', async () => {
  const put = await post('/v3/kv/put', { key: b64('gw/k'), value: b64('v') });
  expect(put.status).toBe(200);
  const header = put.json.header as Record<string, string>;
  expect(Object.keys(header).sort()).toEqual(['cluster_id', 'member_id', 'raft_term', 'revision']);
  expect(typeof header.revision).toBe('string');
  const range = await post('/v3/kv/range', { key: b64('gw/k') });
  expect(range.json.kvs).toEqual([
    {
      key: b64('gw/k'),
      value: b64('v'),
      create_revision: header.revision,
      mod_revision: header.revision,
      version: '1',
    },
  ]);
  expect(range.json.count).toBe('1');
  const txn = await post('/v3/kv/txn', {
    compare: [{ key: b64('gw/k'), target: 'VALUE', result: 'EQUAL', value: b64('v') }],
    success: [{ request_put: { key: b64('gw/k'), value: b64('w') } }],
  });
  expect(txn.json.succeeded).toBe(true);
  const members = await post('/v3/cluster/member/list', {});
  expect((members.json.members as { name: string }[]).map((m) => m.name)).toEqual(['default']);
  const status = await post('/v3/maintenance/status', {});
  expect(status.json.leader).toBe(header.member_id);
  expect(status.json.raftTerm).toBe(header.raft_term);
});

test('errors: grpc-gateway shape and HTTP status', async () => {
  const empty = await post('/v3/kv/put', { value: b64('x') });
  expect(empty).toEqual({
    status: 400,
    json: { error: 'etcdserver: key is not provided', code: 3, message: 'etcdserver: key is not provided' },
  });
  const lease = await post('/v3/lease/revoke', { ID: '12345' });
  expect(lease.status).toBe(404);
  expect(lease.json.message).toBe('etcdserver: requested lease not found');
  const bad = await fetch(`http://${server.endpoint}/v3/kv/range`, { method: 'POST', body: '{not json' });
  expect(bad.status).toBe(400);
});
