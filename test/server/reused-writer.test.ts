/**
 * Responses encoded into one writer kept across calls come out byte for byte as a fresh
 * writer's, whatever came before them: a larger or smaller message, one too large to keep, an
 * encode that threw half-way, an encode whose bytes were never taken.
 */
import { RangeResponse, TxnResponse } from '../../src/gen/etcdserverpb/rpc.js';
import { ReusedWriter } from '../../src/server/api/reused-writer.js';

const header = { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n };
const range = (valueBytes: number): RangeResponse => ({
  header,
  kvs: [
    {
      key: Buffer.from('k'),
      createRevision: 1n,
      modRevision: 2n,
      version: 1n,
      value: Buffer.alloc(valueBytes, 7),
      lease: 0n,
    },
  ],
  more: false,
  count: 1n,
});
const fresh = (m: RangeResponse) => Buffer.from(RangeResponse.encode(m).finish());

test('each message encodes as with a fresh writer, after any other', () => {
  const w = new ReusedWriter(1024);
  const encode = w.encoder(RangeResponse.encode);
  const encodeTxn = w.encoder(TxnResponse.encode);
  for (const size of [300, 0, 5000, 10, 2000, 300]) {
    const m = range(size);
    expect(Buffer.from(encode(m).finish())).toEqual(fresh(m));
  }
  const t: TxnResponse = {
    header,
    succeeded: true,
    responses: [{ responsePut: { header, prevKv: undefined } }],
  };
  expect(Buffer.from(encodeTxn(t).finish())).toEqual(Buffer.from(TxnResponse.encode(t).finish()));
});

test('a half-written message does not reach the next one', () => {
  const encode = new ReusedWriter().encoder(RangeResponse.encode);
  // A count no int64 holds: the encode throws after the header and kvs are written.
  expect(() => encode({ ...range(100), count: 2n ** 64n })).toThrow('too large');
  expect(Buffer.from(encode(range(100)).finish())).toEqual(fresh(range(100)));
});

test('bytes never taken do not prefix the next message', () => {
  const encode = new ReusedWriter().encoder(RangeResponse.encode);
  encode(range(50));
  expect(Buffer.from(encode(range(60)).finish())).toEqual(fresh(range(60)));
});

test('what finish hands out is not overwritten by the next encode', () => {
  const encode = new ReusedWriter().encoder(RangeResponse.encode);
  const first = encode(range(100)).finish();
  const copy = Buffer.from(first);
  encode({ ...range(100), kvs: [{ ...range(100).kvs[0]!, value: Buffer.alloc(100, 9) }] }).finish();
  expect(Buffer.from(first)).toEqual(copy);
});
