/**
 * KV against a real `concord serve` process, through the SDK: ranges with their options, puts,
 * deletes, txns, compaction, and the errors a client can cause, each with etcd's code and
 * message. Compaction runs last (it makes older revisions unreadable).
 */

import { createChannel, createClient, Status } from 'nice-grpc';
import { KVDefinition } from '../../src/gen/etcdserverpb/rpc.js';
import {
  Client,
  CompactedError,
  compare,
  EtcdError,
  FutureRevisionError,
  LeaseNotFoundError,
  op,
} from '../../src/index.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';

let server: Concord;
let client: Client;

beforeAll(async () => {
  ensureServerBuilt();
  server = await startConcord({ args: ['--max-txn-ops', '4', '--max-request-bytes', '65536'] });
  client = new Client({ endpoints: [server.endpoint] });
}, 120_000);

afterAll(async () => {
  client?.close();
  await server?.close();
});

const keys = (kvs: { key: Buffer }[]) => kvs.map((kv) => kv.key.toString());

async function rejection(p: Promise<unknown>): Promise<EtcdError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(EtcdError);
    return err as EtcdError;
  }
  throw new Error('expected a rejection');
}

test('put and get: revisions, versions, prev_kv, headers filled like etcd', async () => {
  const first = await client.put('kv/a', '1');
  const second = await client.put('kv/a', '2', { prevKv: true });
  expect(second.header.revision).toBe(first.header.revision + 1n);
  expect(second.prevKv?.value.toString()).toBe('1');
  const kv = await client.get('kv/a');
  expect(kv?.value.toString()).toBe('2');
  expect(kv?.version).toBe(2n);
  expect(kv?.createRevision).toBe(first.header.revision);
  expect(kv?.modRevision).toBe(second.header.revision);
  expect(second.header.clusterId).not.toBe(0n);
  expect(second.header.memberId).not.toBe(0n);
  expect(second.header.raftTerm).toBeGreaterThan(0n);
});

test('range: prefix, fromKey, limit, sort, keysOnly, countOnly, historical revision, serializable', async () => {
  for (const k of ['r/b', 'r/a', 'r/c', 'r/d']) await client.put(k, k.toUpperCase());
  expect(keys((await client.range({ prefix: 'r/' })).kvs)).toEqual(['r/a', 'r/b', 'r/c', 'r/d']);
  expect(keys((await client.range({ fromKey: 'r/c' })).kvs).slice(0, 2)).toEqual(['r/c', 'r/d']);
  const limited = await client.range({ prefix: 'r/' }, { limit: 2 });
  expect(keys(limited.kvs)).toEqual(['r/a', 'r/b']);
  expect(limited.more).toBe(true);
  expect(limited.count).toBe(4n);
  const desc = await client.range({ prefix: 'r/' }, { sort: { target: 'key', order: 'descend' } });
  expect(keys(desc.kvs)).toEqual(['r/d', 'r/c', 'r/b', 'r/a']);
  const ko = await client.range({ prefix: 'r/' }, { keysOnly: true });
  expect(ko.kvs.every((kv) => kv.value.length === 0)).toBe(true);
  const co = await client.range({ prefix: 'r/' }, { countOnly: true });
  expect(co.kvs).toEqual([]);
  expect(co.count).toBe(4n);
  const before = (await client.put('r/a', 'changed')).header.revision - 1n;
  expect((await client.get('r/a', { revision: before }))?.value.toString()).toBe('R/A');
  expect((await client.get('r/a', { serializable: true }))?.value.toString()).toBe('changed');
});

test('delete: single key, prefix, prev_kv', async () => {
  await client.put('d/1', 'x');
  await client.put('d/2', 'y');
  await client.put('d/3', 'z');
  expect((await client.delete('d/1')).deleted).toBe(1n);
  const r = await client.delete({ prefix: 'd/' }, { prevKv: true });
  expect(r.deleted).toBe(2n);
  expect(r.prevKvs.map((kv) => kv.value.toString())).toEqual(['y', 'z']);
  expect(await client.get('d/2')).toBeUndefined();
});

test('txn: compare-and-swap both ways, read-only txn', async () => {
  await client.put('t/k', 'v1');
  const ok = await client
    .txn()
    .if(compare.value('t/k', '==', 'v1'))
    .success(op.put('t/k', 'v2'))
    .failure(op.get('t/k'))
    .commit();
  expect(ok.succeeded).toBe(true);
  const no = await client
    .txn()
    .if(compare.value('t/k', '==', 'v1'))
    .success(op.put('t/k', 'v3'))
    .failure(op.get('t/k'))
    .commit();
  expect(no.succeeded).toBe(false);
  expect((await client.get('t/k'))?.value.toString()).toBe('v2');
  const ro = await client
    .txn()
    .if(compare.version('t/k', '==', 2))
    .success(op.get('t/k'))
    .commit();
  expect(ro.succeeded).toBe(true);
});

test('errors: etcd codes and exact messages', async () => {
  const channel = createChannel(server.endpoint);
  const raw = createClient(KVDefinition, channel);
  const grpcError = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return { code: (err as { code: number }).code, details: (err as { details: string }).details };
    }
    throw new Error('expected a rejection');
  };
  expect(await grpcError(raw.put({ key: Buffer.alloc(0), value: Buffer.from('x') }))).toEqual({
    code: Status.INVALID_ARGUMENT,
    details: 'etcdserver: key is not provided',
  });
  const rev = (await client.put('e/k', 'v')).header.revision;
  expect(await grpcError(raw.range({ key: Buffer.from('e/k'), revision: rev + 100n }))).toEqual({
    code: Status.OUT_OF_RANGE,
    details: 'etcdserver: mvcc: required revision is a future revision',
  });
  expect(await rejection(client.get('e/k', { revision: rev + 100n }))).toBeInstanceOf(FutureRevisionError);
  const tooMany = client
    .txn()
    .success(
      op.put('e/1', '1'),
      op.put('e/2', '2'),
      op.put('e/3', '3'),
      op.put('e/4', '4'),
      op.put('e/5', '5'),
    )
    .commit();
  expect((await rejection(tooMany)).message).toBe('etcdserver: too many operations in txn request');
  const dup = client.txn().success(op.put('e/1', '1'), op.put('e/1', '2')).commit();
  expect((await rejection(dup)).message).toBe('etcdserver: duplicate key given in txn request');
  expect(await rejection(client.put('e/l', 'v', { lease: 12345n }))).toBeInstanceOf(LeaseNotFoundError);
  // --max-request-bytes 65536: a 70 KB value is refused before it is proposed…
  expect(await grpcError(raw.put({ key: Buffer.from('e/big'), value: Buffer.alloc(70_000) }))).toEqual({
    code: Status.INVALID_ARGUMENT,
    details: 'etcdserver: request is too large',
  });
  // …and a message above max-request-bytes + 512 KiB is refused by the gRPC layer, in grpc-go's words.
  const huge = await grpcError(raw.put({ key: Buffer.from('e/huge'), value: Buffer.alloc(700_000) }));
  expect(huge.code).toBe(Status.RESOURCE_EXHAUSTED);
  expect(huge.details).toMatch(/^grpc: received message larger than max \(\d+ vs\. 589824\)$/);
  // The server still serves.
  expect((await client.get('e/k'))?.value.toString()).toBe('v');
  channel.close();
});

test('compact: older revisions become unreadable; compacting again fails', async () => {
  const old = (await client.put('c/k', 'old')).header.revision;
  const now = (await client.put('c/k', 'new')).header.revision;
  await client.compact(now);
  expect(await rejection(client.get('c/k', { revision: old }))).toBeInstanceOf(CompactedError);
  expect((await client.get('c/k'))?.value.toString()).toBe('new');
  expect((await rejection(client.compact(now))).message).toBe(
    'etcdserver: mvcc: required revision has been compacted',
  );
  expect((await rejection(client.compact(now + 1000n))).message).toBe(
    'etcdserver: mvcc: required revision is a future revision',
  );
});
