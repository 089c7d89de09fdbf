/** Leases: grant/revoke/attach through the state machine, and the primary's TTL bookkeeping. */
import { StateMachine } from '../../src/mvcc/index.js';
import { Lessor } from '../../src/mvcc/lease/lessor.js';
import { b, put, range, watchReq } from './helpers.js';

describe('lessor through the state machine', () => {
  test('revoke deletes every attached key in one revision, in key order', () => {
    const sm = new StateMachine();
    sm.leaseGrant({ ID: 7n, TTL: 30n });
    for (const k of ['c', 'a', 'b']) sm.put(put(k, 'v', { lease: 7n }));
    sm.put(put('d', 'free'));
    const events: { key: string; rev: bigint }[] = [];
    sm.watches.watch(1n, watchReq('\0', { rangeEnd: b('\0') }), {
      send: (r) => {
        for (const e of r.events) events.push({ key: e.kv!.key.toString(), rev: e.kv!.modRevision });
        return true;
      },
    });
    const before = sm.revision;
    const resp = sm.leaseRevoke({ ID: 7n });
    expect(Number(resp.header!.revision)).toBe(before + 1);
    expect(events).toEqual(['a', 'b', 'c'].map((key) => ({ key, rev: BigInt(before + 1) })));
    expect(sm.range(range('\0', { rangeEnd: b('\0') })).kvs.map((kv) => kv.key.toString())).toEqual(['d']);
    expect(sm.lessor.has(7n)).toBe(false);
  });

  test('revoking a lease with no keys does not consume a revision', () => {
    const sm = new StateMachine();
    sm.leaseGrant({ ID: 1n, TTL: 30n });
    const rev = sm.revision;
    sm.leaseRevoke({ ID: 1n });
    expect(sm.revision).toBe(rev);
  });

  test('re-putting a key onto another lease (or none) detaches it; deleting detaches it', () => {
    const sm = new StateMachine();
    sm.leaseGrant({ ID: 1n, TTL: 30n });
    sm.leaseGrant({ ID: 2n, TTL: 30n });
    sm.put(put('k', 'v', { lease: 1n }));
    sm.put(put('j', 'v', { lease: 1n }));
    sm.put(put('k', 'v', { lease: 2n }));
    expect([...sm.lessor.get(1n)!.keys]).toEqual(['j']);
    expect([...sm.lessor.get(2n)!.keys]).toEqual(['k']);
    sm.put(put('k', 'v2', { ignoreLease: true }));
    expect([...sm.lessor.get(2n)!.keys]).toEqual(['k']);
    sm.put(put('k', 'v3'));
    expect(sm.lessor.get(2n)!.keys.size).toBe(0);
    sm.deleteRange({ key: b('j'), rangeEnd: b(''), prevKv: false });
    expect(sm.lessor.get(1n)!.keys.size).toBe(0);
    // Revoking 1 now deletes nothing.
    const rev = sm.revision;
    sm.leaseRevoke({ ID: 1n });
    expect(sm.revision).toBe(rev);
  });

  test('a TTL below the minimum is raised to it; a grant without an ID gets the same ID on every member', () => {
    const a = new StateMachine({ minLeaseTtlSeconds: 5 });
    const c = new StateMachine({ minLeaseTtlSeconds: 5 });
    const ra = a.leaseGrant({ ID: 0n, TTL: 1n });
    const rc = c.leaseGrant({ ID: 0n, TTL: 1n });
    expect(ra.TTL).toBe(5n);
    expect(ra.ID).toBe(rc.ID);
    expect(ra.ID > 0n).toBe(true);
    expect(a.leaseGrant({ ID: 0n, TTL: 10n }).ID).not.toBe(ra.ID);
  });

  test('leases list and time-to-live with keys', () => {
    const sm = new StateMachine();
    sm.leaseGrant({ ID: 9n, TTL: 20n });
    sm.leaseGrant({ ID: 3n, TTL: 20n });
    sm.put(put('x', '1', { lease: 9n }));
    expect(sm.leaseLeases().leases.map((l) => l.ID)).toEqual([3n, 9n]);
    const ttl = sm.leaseTimeToLive({ ID: 9n, keys: true }, 0);
    expect(ttl.grantedTTL).toBe(20n);
    expect(ttl.keys.map((k) => k.toString())).toEqual(['x']);
    expect(sm.leaseTimeToLive({ ID: 99n, keys: false }, 0).TTL).toBe(-1n);
  });
});

describe('lessor expiry (primary only, caller-supplied time)', () => {
  test('a follower never reports expired leases; a primary reports them when due, earliest first', () => {
    const l = new Lessor({ minTtlSeconds: 1 });
    l.grant(1n, 10, 0);
    l.grant(2n, 5, 0);
    expect(l.expired(1e12)).toEqual([]);
    l.promote(1000);
    expect(l.expired(5999)).toEqual([]);
    expect(l.expired(6000)).toEqual([2n]);
    expect(l.expired(11_000)).toEqual([2n, 1n]);
    expect(l.expired(11_000, 1)).toEqual([2n]);
    l.demote();
    expect(l.expired(1e12)).toEqual([]);
  });

  test('renew restarts the clock and asks to clear a checkpoint', () => {
    const l = new Lessor({ minTtlSeconds: 1 });
    l.promote(0);
    l.grant(1n, 10, 0);
    expect(l.renew(1n, 8000)).toEqual({ ttl: 10, clearCheckpoint: false });
    expect(l.expired(17_999)).toEqual([]);
    expect(l.remaining(1n, 12_500)).toBe(6);
    // LeaseTimeToLive truncates, as etcd does.
    expect(l.timeToLive(1n, 12_500)).toBe(5);
    l.checkpoint(1n, 4);
    expect(l.renew(1n, 9000).clearCheckpoint).toBe(true);
  });

  test('checkpoints: a new primary starts from the checkpointed remaining TTL, not the full TTL', () => {
    const leader = new Lessor({ minTtlSeconds: 1 });
    const follower = new Lessor({ minTtlSeconds: 1 });
    leader.promote(0);
    leader.grant(1n, 100, 0);
    follower.grant(1n, 100, 0);
    const due = leader.checkpointsDue(60_000);
    expect(due).toEqual([{ ID: 1n, remainingTTL: 40n }]);
    // The checkpoint is proposed through Raft and applied on every member.
    for (const cp of due) {
      leader.checkpoint(cp.ID, Number(cp.remainingTTL));
      follower.checkpoint(cp.ID, Number(cp.remainingTTL));
    }
    leader.demote();
    follower.promote(70_000);
    expect(follower.expired(109_999)).toEqual([]);
    expect(follower.expired(110_000)).toEqual([1n]);
  });
});
