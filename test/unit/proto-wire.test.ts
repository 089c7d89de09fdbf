/**
 * Pins the generated code to the etcd v3 wire contract: exact bytes for known field numbers, so a
 * renumbered or retyped field in proto/ fails here, plus the gRPC method paths clients dial.
 */
import { fromTsProtoServiceDefinition } from 'nice-grpc/lib/service-definitions/ts-proto.js';
import {
  AuthDefinition,
  ClusterDefinition,
  Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  KVDefinition,
  LeaseDefinition,
  LeaseGrantRequest,
  MaintenanceDefinition,
  PutRequest,
  RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  ResponseOp,
  StatusResponse,
  TxnRequest,
  WatchCreateRequest_FilterType,
  WatchDefinition,
  WatchRequest,
  WatchResponse,
} from '../../src/gen/etcdserverpb/rpc.js';
import { Event_EventType } from '../../src/gen/mvccpb/kv.js';
import { ElectionDefinition } from '../../src/gen/v3electionpb/v3election.js';
import { LockDefinition } from '../../src/gen/v3lockpb/v3lock.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('etcd wire contract', () => {
  it('RangeRequest uses fields 1..13 with the etcd types', () => {
    const req = RangeRequest.fromPartial({
      key: utf8('foo'),
      rangeEnd: utf8('fop'),
      limit: 10n,
      revision: 7n,
      sortOrder: RangeRequest_SortOrder.DESCEND,
      sortTarget: RangeRequest_SortTarget.MOD,
      serializable: true,
      keysOnly: true,
      countOnly: true,
      minModRevision: 1n,
      maxModRevision: 2n,
      minCreateRevision: 3n,
      maxCreateRevision: 4n,
    });
    const wire = RangeRequest.encode(req).finish();
    expect(hex(wire)).toBe(
      [
        '0a03666f6f', // 1 key (bytes)
        '1203666f70', // 2 range_end
        '180a', // 3 limit = 10
        '2007', // 4 revision = 7
        '2802', // 5 sort_order = DESCEND
        '3003', // 6 sort_target = MOD
        '3801', // 7 serializable
        '4001', // 8 keys_only
        '4801', // 9 count_only
        '5001', // 10 min_mod_revision
        '5802', // 11 max_mod_revision
        '6003', // 12 min_create_revision
        '6804', // 13 max_create_revision
      ].join(''),
    );
    const back = RangeRequest.decode(wire);
    expect(back).toEqual(req);
    expect(typeof back.limit).toBe('bigint');
  });

  it('int64 fields are bigint and keep all 64 bits', () => {
    const wire = PutRequest.encode(
      PutRequest.fromPartial({ key: utf8('k'), lease: 0x7fffffffffffffffn, prevKv: true }),
    ).finish();
    // 3 lease: max int64 as a 9-byte varint; 4 prev_kv.
    expect(hex(wire)).toBe('0a016b' + '18ffffffffffffffff7f' + '2001');
    expect(PutRequest.decode(wire).lease).toBe(0x7fffffffffffffffn);

    // Negative int64 (e.g. a lease TTL of -1) is a 10-byte varint, not zig-zag.
    const grant = LeaseGrantRequest.encode({ TTL: -1n, ID: 0n }).finish();
    expect(hex(grant)).toBe('08ffffffffffffffffff01');
    expect(LeaseGrantRequest.decode(grant).TTL).toBe(-1n);
  });

  it('WatchRequest oneof and WatchCreateRequest fields', () => {
    const create = WatchRequest.encode({
      createRequest: {
        key: utf8('a'),
        rangeEnd: Buffer.alloc(0),
        startRevision: 5n,
        progressNotify: false,
        filters: [],
        prevKv: true,
        watchId: 0n,
        fragment: false,
      },
    }).finish();
    // 1 create_request { 1 key "a", 3 start_revision 5, 6 prev_kv true }
    expect(hex(create)).toBe('0a07' + '0a0161' + '1805' + '3001');

    const full = WatchRequest.fromPartial({
      createRequest: {
        key: utf8('a'),
        progressNotify: true,
        filters: [WatchCreateRequest_FilterType.NODELETE],
        watchId: 3n,
        fragment: true,
      },
    });
    // 4 progress_notify, 5 filters (packed enum), 7 watch_id, 8 fragment
    expect(hex(WatchRequest.encode(full).finish())).toBe(
      '0a0c' + '0a0161' + '2001' + '2a0101' + '3803' + '4001',
    );

    // 2 cancel_request { 1 watch_id 9 }, 3 progress_request {}
    expect(hex(WatchRequest.encode({ cancelRequest: { watchId: 9n } }).finish())).toBe('12020809');
    expect(hex(WatchRequest.encode({ progressRequest: {} }).finish())).toBe('1a00');
    expect(WatchRequest.decode(bytes('1a00')).progressRequest).toEqual({});
  });

  it('decodes a WatchResponse with events at field 11', () => {
    const wire = bytes(
      [
        '0a021805', // 1 header { 3 revision 5 }
        '1002', // 2 watch_id 2
        '1801', // 3 created
        '2801', // 5 compact_revision 1
        '3203626164', // 6 cancel_reason "bad"
        '3801', // 7 fragment
        '5a09', // 11 events[0] (9 bytes)
        '0801', //   1 type DELETE
        '1205', //   2 kv (5 bytes)
        '0a0178', //     1 key "x"
        '1803', //     3 mod_revision 3
      ].join(''),
    );
    const res = WatchResponse.decode(wire);
    expect(res.header?.revision).toBe(5n);
    expect(res.watchId).toBe(2n);
    expect(res.created).toBe(true);
    expect(res.canceled).toBe(false);
    expect(res.compactRevision).toBe(1n);
    expect(res.cancelReason).toBe('bad');
    expect(res.fragment).toBe(true);
    expect(res.events).toHaveLength(1);
    expect(res.events[0]!.type).toBe(Event_EventType.DELETE);
    expect(res.events[0]!.kv?.key.toString()).toBe('x');
    expect(res.events[0]!.kv?.modRevision).toBe(3n);
    expect(hex(WatchResponse.encode(res).finish())).toBe(hex(wire));
  });

  it('Compare with target LEASE uses oneof field 8 and range_end at field 64', () => {
    const cmp = Compare.fromPartial({
      result: Compare_CompareResult.NOT_EQUAL,
      target: Compare_CompareTarget.LEASE,
      key: utf8('k'),
      lease: 42n,
      rangeEnd: utf8('z'),
    });
    const wire = Compare.encode(cmp).finish();
    // 1 result NOT_EQUAL(3), 2 target LEASE(4), 3 key, 8 lease 42, 64 range_end (tag 0x202 -> 82 04)
    expect(hex(wire)).toBe('0803' + '1004' + '1a016b' + '402a' + '8204017a');
    expect(Compare.decode(wire)).toEqual(cmp);

    const byMod = Compare.encode(
      Compare.fromPartial({ target: Compare_CompareTarget.MOD, key: utf8('k'), modRevision: 0n }),
    ).finish();
    // A set oneof member is written even when zero: 6 mod_revision 0.
    expect(hex(byMod)).toBe('1002' + '1a016b' + '3000');
  });

  it('TxnRequest and ResponseOp nest by the etcd field numbers', () => {
    const txn = TxnRequest.encode(
      TxnRequest.fromPartial({
        compare: [],
        success: [{ requestPut: { key: utf8('a'), value: utf8('b') } }],
        failure: [{ requestTxn: {} }],
      }),
    ).finish();
    // 2 success[{ 2 request_put { 1 key, 2 value } }], 3 failure[{ 4 request_txn {} }]
    expect(hex(txn)).toBe('1208' + '1206' + '0a0161' + '120162' + '1a02' + '2200');
    expect(
      hex(
        ResponseOp.encode({ responseDeleteRange: { header: undefined, deleted: 2n, prevKvs: [] } }).finish(),
      ),
    ).toBe('1a021002');
  });

  it('StatusResponse carries the 3.4-3.6 fields at 9..13', () => {
    const wire = bytes(
      [
        '4864', // 9 dbSizeInUse 100
        '5001', // 10 isLearner
        '5a03332e36', // 11 storageVersion "3.6"
        '60c801', // 12 dbSizeQuota 200
        '6a0708011203332e35', // 13 downgradeInfo { 1 enabled, 2 targetVersion "3.5" }
      ].join(''),
    );
    const res = StatusResponse.decode(wire);
    expect(res.dbSizeInUse).toBe(100n);
    expect(res.isLearner).toBe(true);
    expect(res.storageVersion).toBe('3.6');
    expect(res.dbSizeQuota).toBe(200n);
    expect(res.downgradeInfo).toEqual({ enabled: true, targetVersion: '3.5' });
  });

  it('exposes the etcd gRPC method paths', () => {
    const paths = [
      KVDefinition,
      WatchDefinition,
      LeaseDefinition,
      ClusterDefinition,
      MaintenanceDefinition,
      AuthDefinition,
      LockDefinition,
      ElectionDefinition,
    ].flatMap((def) =>
      Object.values(fromTsProtoServiceDefinition(def)).map(
        (m) => `${m.path}${m.requestStream ? ' cs' : ''}${m.responseStream ? ' ss' : ''}`,
      ),
    );
    expect(paths.sort()).toEqual(
      [
        '/etcdserverpb.KV/Range',
        '/etcdserverpb.KV/Put',
        '/etcdserverpb.KV/DeleteRange',
        '/etcdserverpb.KV/Txn',
        '/etcdserverpb.KV/Compact',
        '/etcdserverpb.Watch/Watch cs ss',
        '/etcdserverpb.Lease/LeaseGrant',
        '/etcdserverpb.Lease/LeaseRevoke',
        '/etcdserverpb.Lease/LeaseKeepAlive cs ss',
        '/etcdserverpb.Lease/LeaseTimeToLive',
        '/etcdserverpb.Lease/LeaseLeases',
        '/etcdserverpb.Cluster/MemberAdd',
        '/etcdserverpb.Cluster/MemberRemove',
        '/etcdserverpb.Cluster/MemberUpdate',
        '/etcdserverpb.Cluster/MemberList',
        '/etcdserverpb.Cluster/MemberPromote',
        '/etcdserverpb.Maintenance/Alarm',
        '/etcdserverpb.Maintenance/Status',
        '/etcdserverpb.Maintenance/Defragment',
        '/etcdserverpb.Maintenance/Hash',
        '/etcdserverpb.Maintenance/HashKV',
        '/etcdserverpb.Maintenance/Snapshot ss',
        '/etcdserverpb.Maintenance/MoveLeader',
        '/etcdserverpb.Maintenance/Downgrade',
        '/etcdserverpb.Auth/AuthEnable',
        '/etcdserverpb.Auth/AuthDisable',
        '/etcdserverpb.Auth/AuthStatus',
        '/etcdserverpb.Auth/Authenticate',
        '/etcdserverpb.Auth/UserAdd',
        '/etcdserverpb.Auth/UserGet',
        '/etcdserverpb.Auth/UserList',
        '/etcdserverpb.Auth/UserDelete',
        '/etcdserverpb.Auth/UserChangePassword',
        '/etcdserverpb.Auth/UserGrantRole',
        '/etcdserverpb.Auth/UserRevokeRole',
        '/etcdserverpb.Auth/RoleAdd',
        '/etcdserverpb.Auth/RoleGet',
        '/etcdserverpb.Auth/RoleList',
        '/etcdserverpb.Auth/RoleDelete',
        '/etcdserverpb.Auth/RoleGrantPermission',
        '/etcdserverpb.Auth/RoleRevokePermission',
        '/v3lockpb.Lock/Lock',
        '/v3lockpb.Lock/Unlock',
        '/v3electionpb.Election/Campaign',
        '/v3electionpb.Election/Proclaim',
        '/v3electionpb.Election/Leader',
        '/v3electionpb.Election/Observe ss',
        '/v3electionpb.Election/Resign',
      ].sort(),
    );
  });
});

describe('unset bytes fields', () => {
  it('share one frozen empty Buffer, so no message can change what another reads', () => {
    const a = PutRequest.decode(new Uint8Array(0));
    const b = PutRequest.fromPartial({});
    expect(Buffer.isBuffer(a.key)).toBe(true);
    expect(a.key.length).toBe(0);
    expect(a.key).toBe(b.value);
    expect(Object.isFrozen(a.key)).toBe(true);
    expect(() => {
      (a.key as unknown as { tag: number }).tag = 1;
    }).toThrow(TypeError);
    // A set field is the message's own bytes, not the shared one.
    expect(
      PutRequest.decode(PutRequest.encode(PutRequest.fromPartial({ key: utf8('k') })).finish()).key,
    ).not.toBe(a.key);
  });
});
