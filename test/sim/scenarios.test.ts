/**
 * Scenario tests for the known traps, on the simulated cluster with invariants checked after
 * every Ready: Figure 8, a leader partitioned with a minority, a removed leader, a disruptive
 * rejoining node (PreVote), a slow follower that needs a snapshot, and a membership change in
 * flight during a partition.
 */
import type { NodeId } from '../../src/raft/index.js';
import { Cluster, type ClusterOptions, DEFAULT_CLUSTER_OPTIONS } from './cluster.js';
import { runFigure8 } from './figure8.js';
import { checkOperations, kvModel } from './linearizability.js';

function cluster(over: Partial<ClusterOptions> = {}): Cluster {
  return new Cluster({ ...DEFAULT_CLUSTER_OPTIONS, seed: 42, ...over });
}

function electLeader(c: Cluster): NodeId {
  if (!c.runUntil(() => c.leader() !== undefined, 100)) throw new Error('no leader elected');
  return c.leader()!.id;
}

function put(c: Cluster, via: NodeId, key: string, value: string): boolean {
  return c.propose(via, { op: 'put', id: c.newOpId(), key, value });
}

/** Every running member of the leader's configuration applied the same state. */
function expectConverged(c: Cluster): void {
  const l = c.leader()!;
  const ok = c.runUntil(() => {
    const commit = l.rn!.raft.raftLog.committed;
    return [...l.confState.voters, ...l.confState.learners].every((id) => c.node(id).applied >= commit);
  }, 200);
  expect(ok).toBe(true);
  const dumps = new Set([...l.confState.voters, ...l.confState.learners].map((id) => c.node(id).kv.dump()));
  expect(dumps.size).toBe(1);
}

describe('scenarios', () => {
  test('Figure 8: an old-term entry on a majority is not committed by counting, and no committed entry is lost', () => {
    const { cluster: c, s1CommitAtC } = runFigure8();
    expect(s1CommitAtC).toBe(1); // index 2 (term 2) was on S1, S2, S3 but not committed
    expect(c.node(5n).rn!.raft.state).toBe('leader');
    for (const id of [1n, 2n, 3n, 4n, 5n]) expect(c.node(id).rn!.raft.raftLog.term(2)).toBe(3);
  });

  test('a leader partitioned with a minority cannot commit; the majority elects, and the old leader rejoins as follower', () => {
    const c = cluster({ voters: 5 });
    const old = electLeader(c);
    const others = c.ids().filter((id) => id !== old);
    const minority = [old, others[0]!];
    const majority = others.slice(1);
    c.net.partition(minority, majority);
    c.invoke(0, old, { kind: 'put', key: 'k', value: 'lost' }, 30);
    c.runTicks(40);
    const l = c.leader()!;
    expect(majority).toContain(l.id);
    expect(c.node(old).rn!.raft.state).not.toBe('leader'); // CheckQuorum deposed it
    c.invoke(1, l.id, { kind: 'put', key: 'k', value: 'kept' }, 30);
    c.runTicks(10);
    c.net.heal();
    c.runTicks(20);
    c.invoke(2, old, { kind: 'get', key: 'k' }, 30);
    c.runTicks(20);
    c.abandonClients();
    expect(c.node(old).kv.get('k')).toBe('kept');
    expect(checkOperations(kvModel, c.completedHistory()).ok).toBe(true);
    expect(c.completedHistory().find((o) => o.input.kind === 'get')?.output).toEqual({ value: 'kept' });
    expectConverged(c);
  });

  test('a removed leader steps down and stops; the others elect and carry on', () => {
    const c = cluster({ voters: 3 });
    const old = electLeader(c);
    put(c, old, 'k', 'before');
    c.runTicks(5);
    expect(c.proposeConfChange(old, { type: 'removeNode', nodeId: old })).toBe(true);
    c.runTicks(60);
    expect(c.node(old).removed).toBe(true);
    const l = c.leader()!;
    expect(l.id).not.toBe(old);
    expect(l.confState.voters).not.toContain(old);
    put(c, l.id, 'k', 'after');
    c.runTicks(10);
    expect(l.kv.get('k')).toBe('after');
    expectConverged(c);
  });

  test('a membership change in flight while the leader is cut off is decided by the new leader, safely', () => {
    const c = cluster({ voters: 5 });
    const old = electLeader(c);
    const fresh = c.addProcess();
    const [reached] = c.ids().filter((id) => id !== old && id !== fresh.id);
    // The change reaches one follower only, then the leader is cut off: it is in flight on a minority.
    c.net.filter = (m) =>
      !(m.from === old && m.type === 'MsgApp' && m.to !== reached && m.entries.length > 0);
    c.proposeConfChange(old, { type: 'addLearnerNode', nodeId: fresh.id });
    c.run(10);
    expect(c.node(reached!).rn!.raft.raftLog.lastIndex()).toBeGreaterThan(
      c.node(c.ids()[4]!).rn!.raft.raftLog.lastIndex(),
    );
    c.net.filter = undefined;
    c.net.isolate(old, c.ids());
    c.runTicks(40);
    c.net.heal();
    c.runTicks(60);
    const l = c.leader()!;
    expect(l.id).not.toBe(old);
    // Whether the change survived depends on who won; either way every member agrees.
    const members = [...l.confState.voters, ...l.confState.learners];
    const configs = new Set(
      members.map((id) =>
        JSON.stringify(c.node(id).confState, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)),
      ),
    );
    expect(configs.size).toBe(1);
    expectConverged(c);
  });

  test.each([
    [true, false],
    [false, true],
  ])('a rejoining node with preVote=%s disrupts the leader: %s', (preVote, disrupts) => {
    const c = cluster({ voters: 3, preVote, checkQuorum: false });
    const leader = electLeader(c);
    const term = c.node(leader).rn!.raft.term;
    const follower = c.ids().find((id) => id !== leader)!;
    c.net.isolate(follower, c.ids());
    c.runTicks(100);
    c.net.heal();
    c.runTicks(50);
    const l = c.leader()!;
    expect(l.id === leader && l.rn!.raft.term === term).toBe(!disrupts);
  });

  test('PreVote: a follower cut off for 20 election timeouts rejoins without raising the term or deposing the leader', () => {
    // The production settings (PreVote and CheckQuorum on), 5 members, writes going on throughout.
    const c = cluster({ voters: 5, seed: 7 });
    const leader = electLeader(c);
    const term = c.node(leader).rn!.raft.term;
    const away = c.ids().find((id) => id !== leader)!;
    const maxTerm = () => Math.max(...c.ids().map((id) => c.node(id).rn!.raft.term));
    const steady = () => c.leader()?.id === leader && maxTerm() === term;
    c.net.isolate(away, c.ids());
    // Its (dropped) PreVote requests, one per peer per campaign.
    let preVotes = 0;
    c.net.rewrite = (m) => {
      if (m.from === away && m.type === 'MsgPreVote') preVotes++;
      return m;
    };
    let client = 0;
    for (let i = 0; i < 20 * DEFAULT_CLUSTER_OPTIONS.electionTick * c.opts.tickEvery; i++) {
      if (!c.clientBusy(client % 2))
        c.invoke(client++ % 2, leader, { kind: 'put', key: 'k', value: `v${i}` }, 30);
      c.step();
      // A pre-candidate asks for votes without raising its own term.
      expect(c.node(away).rn!.raft.term).toBe(term);
      expect(steady()).toBe(true);
    }
    // It did try to campaign, again and again, while cut off.
    expect(c.node(away).rn!.raft.state).toBe('preCandidate');
    expect(preVotes).toBeGreaterThanOrEqual(5 * 4);
    c.net.heal();
    for (let i = 0; i < 100 * c.opts.tickEvery; i++) {
      c.step();
      expect(steady()).toBe(true);
    }
    c.abandonClients();
    expect(c.node(away).rn!.raft.state).toBe('follower');
    expect(c.node(away).rn!.raft.lead).toBe(leader);
    expect(checkOperations(kvModel, c.completedHistory()).ok).toBe(true);
    // The writes made while it was away reached it after it rejoined.
    expect(c.completedHistory().filter((o) => o.input.kind === 'put').length).toBeGreaterThan(10);
    expect(c.node(away).kv.get('k')).toBe(c.node(leader).kv.get('k'));
    expectConverged(c);
  });

  test('a slow follower behind the compacted log is caught up by InstallSnapshot', () => {
    const c = cluster({ voters: 3, snapshotEvery: 5, compactKeep: 0 });
    const leader = electLeader(c);
    const slow = c.ids().find((id) => id !== leader)!;
    c.crash(slow);
    for (let i = 0; i < 40; i++) {
      put(c, leader, `k${i % 4}`, `v${i}`);
      c.runTicks(1);
    }
    const l = c.node(leader);
    expect(l.storage.firstIndex()).toBeGreaterThan(c.node(slow).storage.lastIndex() + 1);
    c.restart(slow);
    c.runTicks(30);
    expect(c.snapshotsSent).toBeGreaterThan(0);
    expect(c.node(slow).kv.dump()).toBe(l.kv.dump());
    expectConverged(c);
  });
});
