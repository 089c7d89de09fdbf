/**
 * The gRPC server writes KV and lease responses as the state machine returns them, without
 * nice-grpc's fromPartial copy (grpc-server.ts): that holds only while those responses are
 * complete messages, which encode to the bytes of their fromPartial copy.
 */
import {
  CompactionResponse,
  DeleteRangeResponse,
  LeaseGrantResponse,
  LeaseRevokeResponse,
  PutResponse,
  RangeResponse,
  TxnResponse,
} from '../../src/gen/etcdserverpb/rpc.js';
import { StateMachine } from '../../src/mvcc/index.js';
import { cmp, del, opDel, opPut, opRange, opTxn, put, range, txn } from '../mvcc/helpers.js';

interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  fromPartial(m: T): T;
}

function sameBytes<T>(codec: Codec<T>, resp: unknown): void {
  const m = resp as T;
  expect(Buffer.from(codec.encode(m).finish())).toEqual(
    Buffer.from(codec.encode(codec.fromPartial(m)).finish()),
  );
}

test('state machine responses encode as their fromPartial copies', () => {
  const sm = new StateMachine();
  let i = 1;
  const apply = (req: Parameters<StateMachine['apply']>[1]) => sm.apply(i++, req, { nowMs: 0 });
  const grant = apply({ leaseGrant: { TTL: 60n, ID: 7n } });
  sameBytes(LeaseGrantResponse, grant);
  sameBytes(PutResponse, apply({ put: put('a', '1') }));
  sameBytes(PutResponse, apply({ put: put('a', '2', { prevKv: true, lease: 7n }) }));
  sameBytes(PutResponse, apply({ put: put('b', '3') }));
  sameBytes(RangeResponse, sm.range(range('a')));
  sameBytes(RangeResponse, sm.range(range('a', { rangeEnd: Buffer.from('c'), keysOnly: true })));
  sameBytes(RangeResponse, sm.range(range('a', { rangeEnd: Buffer.from('c'), countOnly: true })));
  sameBytes(RangeResponse, sm.range(range('a', { rangeEnd: Buffer.from('c'), limit: 1n })));
  sameBytes(RangeResponse, sm.range(range('zz')));
  const t = txn(
    [cmp('a', 'value', '=', '2')],
    [opPut('c', '4', { prevKv: true }), opRange('a'), opDel('b', { prevKv: true })],
    [opRange('b')],
  );
  sameBytes(TxnResponse, apply({ txn: t }));
  sameBytes(TxnResponse, apply({ txn: t }));
  sameBytes(TxnResponse, apply({ txn: txn([], [opTxn(txn([], [opPut('d', '5')]))]) }));
  sameBytes(TxnResponse, sm.txn(txn([], [opRange('a')])));
  sameBytes(DeleteRangeResponse, apply({ deleteRange: del('a', { prevKv: true }) }));
  sameBytes(LeaseRevokeResponse, apply({ leaseRevoke: { ID: 7n } }));
  sameBytes(CompactionResponse, apply({ compaction: { revision: 3n, physical: false } }));
});
