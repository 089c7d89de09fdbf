/** Keyspace rules not covered by the etcd table: physical compaction, idempotent apply, quota/NOSPACE, HashKV. */
import { AlarmRequest_AlarmAction, AlarmType } from '../../src/gen/etcdserverpb/rpc.js';
import {
  CompactedError,
  FutureRevisionError,
  type MvccRequest,
  NoSpaceError,
  StateMachine,
} from '../../src/mvcc/index.js';
import { b, del, opDel, opPut, put, range, txn } from './helpers.js';

const all = range('\0', { rangeEnd: b('\0') });

describe('compaction', () => {
  test('removes superseded revisions and deleted keys physically, keeping the newest live one of each key', () => {
    const sm = new StateMachine();
    sm.put(put('a', '1')); // 2
    sm.put(put('a', '2')); // 3
    sm.put(put('b', '1')); // 4
    sm.deleteRange(del('b')); // 5
    sm.put(put('c', '1')); // 6
    sm.put(put('a', '3')); // 7
    const sizeBefore = sm.kv.sizeBytes;
    sm.compact({ revision: 6n, physical: true });
    expect(sm.kv.index.get('a')!.map((r) => r.main)).toEqual([3, 7]);
    expect(sm.kv.index.get('b')).toBeUndefined();
    expect(sm.kv.index.get('c')!.map((r) => r.main)).toEqual([6]);
    expect(sm.kv.log.map((r) => r.main)).toEqual([6, 7]);
    expect(sm.kv.sizeBytes).toBeLessThan(sizeBefore);
    // Reads at the compact revision still work; below it they fail.
    expect(sm.range(range('a', { revision: 6n })).kvs[0]!.value.toString()).toBe('2');
    expect(() => sm.range(range('a', { revision: 5n }))).toThrow(CompactedError);
    expect(() => sm.compact({ revision: 6n, physical: true })).toThrow(CompactedError);
    expect(() => sm.compact({ revision: 8n, physical: true })).toThrow(FutureRevisionError);
  });

  test('a key deleted and re-created keeps only its new generation after compaction', () => {
    const sm = new StateMachine();
    sm.put(put('k', '1')); // 2
    sm.deleteRange(del('k')); // 3
    sm.put(put('k', '2')); // 4
    sm.compact({ revision: 4n, physical: true });
    expect(sm.kv.index.get('k')!.map((r) => [r.main, r.create, r.version])).toEqual([[4, 4, 1]]);
  });
});

describe('apply', () => {
  test('replaying an entry at or below the applied index is a no-op; a failing entry still counts as applied', () => {
    const sm = new StateMachine();
    expect(sm.apply(1, { put: put('a', '1') })!.header!.revision).toBe(2n);
    expect(sm.apply(1, { put: put('a', '1') })).toBeUndefined();
    expect(() => sm.apply(2, { put: put('a', 'x', { lease: 5n }) })).toThrow(
      'etcdserver: requested lease not found',
    );
    expect(sm.appliedIndex).toBe(2);
    expect(sm.apply(2, { put: put('a', 'x', { lease: 5n }) })).toBeUndefined();
    expect(sm.revision).toBe(2);
    expect(sm.apply(3, { leaseCheckpoint: { checkpoints: [] } })).toBeDefined();
  });

  test('a write that changes nothing does not consume a revision', () => {
    const sm = new StateMachine();
    sm.put(put('a', '1'));
    sm.deleteRange(del('zzz'));
    sm.txn(txn([], [opDel('nothing')]));
    expect(sm.revision).toBe(2);
  });

  test('a request goes to the applier of its one kind; a request with none is a TypeError', () => {
    const sm = new StateMachine();
    expect(sm.execute({ put: put('a', '1') }).header!.revision).toBe(2n);
    expect(sm.execute({ range: range('a') }).count).toBe(1n);
    expect(() => sm.execute({} as MvccRequest)).toThrow('mvcc: empty request');
    expect(() => sm.execute({ put: undefined } as unknown as MvccRequest)).toThrow('mvcc: empty request');
    expect(() => sm.execute({ nope: {} } as unknown as MvccRequest)).toThrow('mvcc: empty request');
  });
});

describe('quota and the NOSPACE alarm', () => {
  test('a write past the quota is refused and raises NOSPACE; then only space-free requests pass until disarmed', () => {
    const sm = new StateMachine({ quotaBytes: 2000 });
    sm.put(put('a', 'x'.repeat(500)));
    expect(() => sm.put(put('b', 'x'.repeat(1500)))).toThrow(NoSpaceError);
    expect(sm.alarms.list()).toEqual([{ memberID: 0n, alarm: AlarmType.NOSPACE }]);
    expect(() => sm.put(put('c', 'small'))).toThrow('etcdserver: mvcc: database space exceeded');
    expect(() => sm.txn(txn([], [opPut('c', 'small')]))).toThrow(NoSpaceError);
    expect(() => sm.leaseGrant({ ID: 1n, TTL: 10n })).toThrow(NoSpaceError);
    expect(() => sm.checkQuota({ put: put('c', 'small') })).toThrow(NoSpaceError);
    // Reads, deletes, delete-only txns and compaction pass.
    expect(sm.range(all).count).toBe(1n);
    sm.txn(txn([], [opDel('zz')]));
    sm.deleteRange(del('a'));
    sm.compact({ revision: BigInt(sm.revision), physical: true });
    expect(sm.kv.sizeBytes).toBe(0);
    sm.execute({
      alarm: { action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: 0n, alarm: AlarmType.NOSPACE },
    });
    expect(sm.put(put('c', 'small')).header!.revision).toBeGreaterThan(0n);
  });

  test('the check before proposing is the one at apply, minus raising the alarm', () => {
    const sm = new StateMachine({ quotaBytes: 2000 });
    sm.put(put('a', 'x'.repeat(500)));
    const fits = put('b', 'x'.repeat(100));
    const tooBig = put('b', 'x'.repeat(1500));
    expect(() => sm.checkQuota({ put: fits })).not.toThrow();
    expect(() => sm.checkQuota({ put: tooBig })).toThrow(NoSpaceError);
    expect(() => sm.checkQuota({ txn: txn([], [opPut('b', 'x'.repeat(1500))]) })).toThrow(NoSpaceError);
    expect(() => sm.checkQuota({ deleteRange: del('a') })).not.toThrow();
    expect(sm.alarms.list()).toEqual([]);
    expect(() => sm.put(tooBig)).toThrow(NoSpaceError);
    expect(sm.alarms.list()).toEqual([{ memberID: 0n, alarm: AlarmType.NOSPACE }]);
    // Once the alarm is on, even a request that fits is refused on both sides.
    expect(() => sm.checkQuota({ put: fits })).toThrow(NoSpaceError);
    expect(() => sm.checkQuota({ leaseGrant: { ID: 1n, TTL: 10n } })).toThrow(NoSpaceError);
    expect(() => sm.put(fits)).toThrow(NoSpaceError);
  });

  test('alarm requests: activate, get, deactivate', () => {
    const sm = new StateMachine();
    const act = sm.execute({
      alarm: { action: AlarmRequest_AlarmAction.ACTIVATE, memberID: 5n, alarm: AlarmType.NOSPACE },
    });
    expect(act.alarms).toEqual([{ memberID: 5n, alarm: AlarmType.NOSPACE }]);
    expect(
      sm.execute({ alarm: { action: AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE } })
        .alarms,
    ).toHaveLength(1);
    expect(() => sm.put(put('a', '1'))).toThrow(NoSpaceError);
    sm.execute({
      alarm: { action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: 5n, alarm: AlarmType.NOSPACE },
    });
    sm.put(put('a', '1'));
  });
});

describe('HashKV', () => {
  test('depends on the revision asked for, refuses compacted and future revisions', () => {
    const sm = new StateMachine();
    sm.put(put('a', '1'));
    const h2 = sm.hashKV(2);
    sm.put(put('a', '2'));
    expect(sm.hashKV(2)).toEqual({ ...h2, header: sm.hashKV(2).header });
    expect(sm.hashKV(3).hash).not.toBe(h2.hash);
    expect(sm.hashKV(0).hashRevision).toBe(3n);
    // Never compacted: -1, as etcd answers (`etcdctl endpoint hashkv -w json` prints it).
    expect(sm.hashKV(0).compactRevision).toBe(-1n);
    expect(() => sm.hashKV(4)).toThrow(FutureRevisionError);
    sm.compact({ revision: 3n, physical: true });
    expect(() => sm.hashKV(2)).toThrow(CompactedError);
    expect(sm.hashKV(3).compactRevision).toBe(3n);
  });

  test('two members applying the same entries agree; a different value disagrees', () => {
    const a = new StateMachine();
    const c = new StateMachine();
    for (const sm of [a, c]) {
      sm.apply(1, { put: put('x', '1') });
      sm.apply(2, { txn: txn([], [opPut('y', '2'), opPut('z', '\xff')]) });
      sm.apply(3, { compaction: { revision: 2n, physical: false } });
    }
    expect(a.hashKV(0).hash).toBe(c.hashKV(0).hash);
    c.apply(4, { put: put('x', '2') });
    a.apply(4, { put: put('x', '3') });
    expect(a.hashKV(0).hash).not.toBe(c.hashKV(0).hash);
  });
});
