/**
 * The protocol rules, one interaction at a time, on a synchronous test network (harness.ts).
 * Section numbers refer to the Raft paper (§) and Ongaro's thesis (thesis §).
 */
import {
  bootstrapSnapshot,
  ContractError,
  MemoryStorage,
  type Message,
  message,
  None,
  ProposalDroppedError,
  RawNode,
  SeededRng,
  StepLocalMessageError,
} from '../../src/raft/index.js';
import { enc, TestNet } from './harness.js';

const types = (ms: readonly Message[]) => ms.map((m) => m.type);

describe('leader election (§5.2)', () => {
  test('a candidate with a majority of votes becomes leader; others follow in its term', () => {
    const net = new TestNet(3);
    net.elect(1);
    expect(net.raft(1).state).toBe('leader');
    expect(net.raft(2).lead).toBe(1n);
    expect(net.raft(3).lead).toBe(1n);
    expect(net.raft(2).term).toBe(net.raft(1).term);
  });

  test('randomized election timeouts come from the injected rng, in [e, 2e)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed < 40; seed++) {
      const s = new MemoryStorage();
      s.applySnapshot(
        bootstrapSnapshot({ voters: [1n], learners: [], votersOutgoing: [], learnersNext: [] }),
      );
      const rn = new RawNode({
        id: 1n,
        storage: s,
        electionTick: 10,
        heartbeatTick: 1,
        rng: new SeededRng(seed),
      });
      const t = rn.raft.randomizedElectionTimeout;
      expect(t).toBeGreaterThanOrEqual(10);
      expect(t).toBeLessThan(20);
      seen.add(t);
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  test('a follower campaigns after its election timeout', () => {
    const net = new TestNet(3);
    net.tick(1, 20);
    net.settle();
    expect(net.raft(1).state).toBe('leader');
  });

  test('without a majority a candidate does not win (two of five isolated... three of five)', () => {
    const net = new TestNet(5);
    net.isolate(3, 4, 5);
    net.elect(1);
    expect(net.raft(1).state).toBe('candidate');
  });

  test.each([
    // [voter's vote, voter's lead, granted?] in the candidate's term (§5.2 one vote per term)
    [None, None, true],
    [2n, None, true], // already voted for this candidate: repeat the grant
    [3n, None, false], // voted for someone else
  ])('vote in the same term: vote=%s lead=%s -> granted %s', (vote, lead, want) => {
    const net = new TestNet(3);
    const r = net.raft(1);
    r.becomeFollower(5, lead);
    r.vote = vote;
    r.step(message({ type: 'MsgVote', from: 2n, to: 1n, term: 5, index: 1, logTerm: 1 }));
    const resp = net.take().find((m) => m.type === 'MsgVoteResp')!;
    expect(!resp.reject).toBe(want);
  });

  test.each([
    // §5.4.1: candidate's last (index, term) vs our log [1:t1, 2:t2, 3:t2]
    [3, 2, true],
    [4, 2, true],
    [2, 2, false],
    [9, 1, false],
    [1, 3, true],
  ])('vote requires an up-to-date log: candidate last (%d, t%d) -> granted %s', (index, logTerm, want) => {
    const net = new TestNet(3);
    const r = net.raft(1);
    r.raftLog.append([
      { index: 2, term: 2, type: 'normal', data: enc('') },
      { index: 3, term: 2, type: 'normal', data: enc('') },
    ]);
    r.step(message({ type: 'MsgVote', from: 2n, to: 1n, term: 10, index, logTerm }));
    const resp = net.take().find((m) => m.type === 'MsgVoteResp')!;
    expect(!resp.reject).toBe(want);
  });

  test('a stale-term message is ignored; a higher term turns a leader into a follower (§5.1)', () => {
    const net = new TestNet(3);
    net.elect(1);
    const t = net.raft(1).term;
    net.raft(1).step(message({ type: 'MsgApp', from: 2n, to: 1n, term: t - 1 }));
    expect(net.raft(1).state).toBe('leader');
    net.raft(1).step(message({ type: 'MsgApp', from: 2n, to: 1n, term: t + 1, index: 0, logTerm: 0 }));
    expect(net.raft(1).state).toBe('follower');
    expect(net.raft(1).term).toBe(t + 1);
  });
});

describe('PreVote (thesis §9.6)', () => {
  test('an isolated node pre-campaigns without raising its term, and cannot disrupt on rejoin', () => {
    const net = new TestNet(3, { preVote: true, checkQuorum: true });
    net.elect(1);
    const term = net.raft(1).term;
    net.isolate(3);
    net.tick(3, 100);
    net.settle();
    expect(net.raft(3).term).toBe(term); // pre-votes failed; the term did not grow
    expect(net.raft(3).state).toBe('preCandidate');
    net.heal();
    net.tick(3, 30);
    net.settle();
    expect(net.raft(1).state).toBe('leader');
    expect(net.raft(1).term).toBe(term);
  });

  test('without PreVote the same rejoining node forces a new election (the disruption PreVote avoids)', () => {
    const net = new TestNet(3, { preVote: false, checkQuorum: false });
    net.elect(1);
    const term = net.raft(1).term;
    net.isolate(3);
    net.tick(3, 100);
    net.settle();
    expect(net.raft(3).term).toBeGreaterThan(term + 3);
    net.heal();
    net.tick(3, 30); // its next campaign carries a term higher than the leader's
    net.settle();
    expect(net.raft(1).term).toBeGreaterThan(term);
    expect(net.raft(1).state).not.toBe('leader');
  });

  test('a granted pre-vote does not change the voter’s term or vote', () => {
    const net = new TestNet(3, { preVote: true });
    net.node(1).rn.campaign();
    const msgs = net.take();
    expect(types(msgs)).toEqual(['MsgPreVote', 'MsgPreVote']);
    expect(msgs[0]!.term).toBe(net.raft(1).term + 1);
    net.raft(2).step(msgs[0]!);
    expect(net.raft(2).vote).toBe(None);
    expect(net.raft(2).term).toBe(1);
  });
});

describe('CheckQuorum (thesis §6.2)', () => {
  test('a leader that has not heard from a quorum for an election timeout steps down', () => {
    const net = new TestNet(3, { checkQuorum: true });
    net.elect(1);
    net.isolate(1);
    for (let i = 0; i < 25; i++) {
      net.tick(1);
      net.settle();
    }
    expect(net.raft(1).state).toBe('follower');
  });

  test('a leader hearing from its quorum stays', () => {
    const net = new TestNet(3, { checkQuorum: true });
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 25; i++) {
      net.tick(1);
      net.settle();
    }
    expect(net.raft(1).state).toBe('leader');
  });

  test('voters in a leader lease ignore a vote request with a higher term', () => {
    const net = new TestNet(3, { checkQuorum: true });
    net.elect(1);
    const term = net.raft(2).term;
    net.raft(2).step(message({ type: 'MsgVote', from: 3n, to: 2n, term: term + 5, index: 99, logTerm: 99 }));
    expect(net.raft(2).term).toBe(term);
    expect(net.take()).toEqual([]);
  });
});

describe('log replication (§5.3)', () => {
  test('proposals commit on a majority and are applied everywhere in order', () => {
    const net = new TestNet(3);
    net.elect(1);
    net.propose(1, 'a');
    net.propose(2, 'b'); // forwarded to the leader
    net.settle();
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(['a', 'b']);
  });

  test('the leader counts itself only after persisting (advance)', () => {
    const net = new TestNet(1);
    net.elect(1);
    net.node(1).rn.propose(enc('x'));
    const rn = net.node(1).rn;
    const rd = rn.ready();
    expect(rd.entries).toHaveLength(1);
    expect(rd.committedEntries).toHaveLength(0); // not durable yet
    net.node(1).storage.append(rd.entries);
    rn.advance(rd);
    expect(rn.ready().committedEntries.map((e) => e.index)).toEqual([rd.entries[0]!.index]);
  });

  test('a follower with a conflicting suffix is repaired with fast back-off (few round trips)', () => {
    const net = new TestNet(3);
    net.elect(1);
    // A partitioned leader accumulates 50 entries of its term that nobody else has.
    net.isolate(1);
    for (let i = 0; i < 50; i++) net.node(1).rn.propose(enc(`stale${i}`));
    net.settle();
    net.elect(2);
    for (let i = 0; i < 50; i++) net.node(2).rn.propose(enc(`fresh${i}`));
    net.settle();
    // The leader's first guess for node 1 is optimistic (its own last index), as after a
    // follower restart: 50 entries past the divergence point.
    const pr = net.raft(2).trk.progress.get(1n)!;
    pr.next = net.raft(2).raftLog.lastIndex() + 1;
    pr.msgAppFlowPaused = false;
    net.heal();
    net.delivered = [];
    net.tickAll(2);
    const rejections = net.delivered.filter((m) => m.type === 'MsgAppResp' && m.reject && m.from === 1n);
    expect(rejections.length).toBeGreaterThan(0);
    expect(rejections.length).toBeLessThanOrEqual(2); // one per conflicting term, not per entry
    expect(net.appliedData(1)).toEqual(Array.from({ length: 50 }, (_, i) => `fresh${i}`));
  });

  test('an append that only moves the commit on is not answered; the followers still commit', () => {
    const net = new TestNet(3);
    net.elect(1);
    net.propose(1, 'a');
    net.delivered = [];
    net.propose(1, 'b');
    const apps = net.delivered.filter((m) => m.type === 'MsgApp');
    const carrying = apps.filter((m) => m.entries.length > 0);
    const commits = apps.filter((m) => m.entries.length === 0);
    expect(carrying.map((m) => [m.to, m.commitOnly])).toEqual([
      [2n, false],
      [3n, false],
    ]);
    expect(commits.map((m) => [m.to, m.commitOnly])).toEqual([
      [2n, true],
      [3n, true],
    ]);
    // One answer per append that carried entries, none for the commit.
    const answers = net.delivered.filter((m) => m.type === 'MsgAppResp');
    expect(answers.map((m) => m.from).sort()).toEqual([2n, 3n]);
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(['a', 'b']);
  });

  test('a commit-only append the follower cannot match is still answered, with a rejection', () => {
    const net = new TestNet(3);
    net.elect(1);
    net.propose(1, 'a');
    const r2 = net.raft(2);
    const last = r2.raftLog.lastIndex();
    net.node(2).rn.step(
      message({
        type: 'MsgApp',
        from: 1n,
        to: 2n,
        term: r2.term,
        index: last + 3,
        logTerm: r2.term,
        commit: last,
        commitOnly: true,
      }),
    );
    const answers = net.take().filter((m) => m.type === 'MsgAppResp' && m.from === 2n);
    expect(answers.map((m) => [m.reject, m.index])).toEqual([[true, last + 3]]);
  });

  test('an empty append that probes a follower asks for an answer, which resumes replication', () => {
    const net = new TestNet(2);
    net.elect(1);
    net.propose(1, 'x');
    net.node(1).rn.reportUnreachable(2n);
    net.delivered = [];
    net.tickAll(1); // a heartbeat; its answer makes the leader probe
    net.settle();
    const probe = net.delivered.find((m) => m.type === 'MsgApp' && m.to === 2n);
    expect(probe).toMatchObject({ entries: [], commitOnly: false });
    expect(net.delivered.some((m) => m.type === 'MsgAppResp' && m.from === 2n)).toBe(true);
    expect(net.raft(1).trk.progress.get(2n)!.state).toBe('replicate');
  });

  test('pipelining: a replicating follower gets several MsgApp in flight, capped by maxInflightMsgs', () => {
    const net = new TestNet(2, { maxSizePerMsg: 1, maxInflightMsgs: 3 });
    net.elect(1);
    for (let i = 0; i < 10; i++) net.node(1).rn.propose(enc(`p${i}`));
    const apps = net.take().filter((m) => m.type === 'MsgApp' && m.to === 2n);
    expect(apps).toHaveLength(3); // one entry each (maxSizePerMsg), three in flight
    expect(apps.every((m) => m.entries.length === 1)).toBe(true);
    for (const m of apps) net.node(2).rn.step(m);
    net.settle();
    expect(net.appliedData(2)).toHaveLength(10);
  });

  test('batching: 10,000 proposals in one tick leave in one Ready and as few MsgApp as the size limit allows', () => {
    const maxSizePerMsg = 64 * 1024;
    const net = new TestNet(3, { maxSizePerMsg });
    net.elect(1);
    const rn = net.node(1).rn;
    const payload = new Uint8Array(100);
    for (let i = 0; i < 10_000; i++) rn.propose(payload);
    const rd = rn.ready();
    expect(rd.entries).toHaveLength(10_000);
    const perPeer = rd.messages.filter((m) => m.type === 'MsgApp' && m.to === 2n);
    const bytes = 10_000 * (100 + 16);
    expect(perPeer.length).toBe(Math.ceil(bytes / maxSizePerMsg));
    expect(perPeer.reduce((n, m) => n + m.entries.length, 0)).toBe(10_000);
    net.node(1).storage.append(rd.entries);
    net.inflight.push(...rd.messages);
    rn.advance(rd);
    net.settle();
    expect(net.node(3).applied.filter((e) => e.data.length === 100)).toHaveLength(10_000);
  });
});

describe('the current-term commit rule (§5.4.2, Figure 8)', () => {
  test('a new leader does not commit an old-term entry by counting replicas', () => {
    const net = new TestNet(3);
    net.elect(1);
    const r1 = net.raft(1);
    // An entry of the old term reaches node 2 only.
    net.isolate(3);
    net.propose(1, 'old');
    const oldIndex = r1.raftLog.lastIndex();
    net.heal();
    net.isolate(1);
    net.elect(2); // node 2 leads a new term; node 3 votes for it
    expect(net.raft(2).state).toBe('leader');
    // Node 2's no-op entry of its own term must reach a majority before "old" is committed.
    const r2 = net.raft(2);
    expect(r2.raftLog.term(oldIndex)).toBeLessThan(r2.term);
    net.heal();
    net.settle();
    expect(r2.raftLog.committed).toBeGreaterThan(oldIndex);
    expect(net.appliedData(3)).toEqual(['old']);
  });

  test('maybeCommit refuses a quorum index whose entry is from an earlier term', () => {
    const net = new TestNet(3);
    net.elect(1);
    const r = net.raft(1);
    r.raftLog.append([{ index: r.raftLog.lastIndex() + 1, term: r.term, type: 'normal', data: enc('') }]);
    r.term += 1; // as if re-elected without committing
    for (const pr of r.trk.progress.values()) pr.match = r.raftLog.lastIndex();
    expect(r.maybeCommit()).toBe(false);
  });
});

describe('ReadIndex (thesis §6.4)', () => {
  test('answered once a quorum acknowledges a heartbeat sent after the request', () => {
    const net = new TestNet(3);
    net.elect(1);
    net.propose(1, 'x');
    net.node(1).rn.readIndex(enc('r1'));
    const hb = net.take();
    expect(types(hb)).toEqual(['MsgHeartbeat', 'MsgHeartbeat']);
    expect(net.node(1).readStates).toEqual([]); // not before the quorum answers
    net.inflight.push(...hb);
    net.settle();
    expect(net.node(1).readStates).toEqual([{ index: net.raft(1).raftLog.committed, requestCtx: enc('r1') }]);
  });

  test('reads queued during a round are batched into the next single round', () => {
    const net = new TestNet(3);
    net.elect(1);
    const rn = net.node(1).rn;
    rn.readIndex(enc('a'));
    const first = net.take();
    rn.readIndex(enc('b'));
    rn.readIndex(enc('c'));
    rn.readIndex(enc('d'));
    expect(net.take()).toEqual([]); // no extra heartbeats while a round is in flight
    net.inflight.push(...first);
    net.delivered = [];
    net.settle();
    const heartbeats = net.delivered.filter((m) => m.type === 'MsgHeartbeat');
    // the first round (to each of 2 peers) for a, then one more round for b, c and d together
    expect(heartbeats.map((m) => new TextDecoder().decode(m.context))).toEqual(['a', 'a', 'd', 'd']);
    expect(net.node(1).readStates.map((r) => new TextDecoder().decode(r.requestCtx))).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  test('a leader waits until it committed an entry of its term; a partitioned leader cannot answer', () => {
    const net = new TestNet(3);
    net.drops.push((m) => m.type === 'MsgAppResp'); // the new leader's no-op never commits
    net.elect(1);
    net.node(1).rn.readIndex(enc('early'));
    net.settle();
    expect(net.node(1).readStates).toEqual([]);
    net.heal();
    net.tickAll(2);
    expect(net.node(1).readStates).toHaveLength(1);
    net.isolate(1);
    net.node(1).rn.readIndex(enc('cut off'));
    net.tickAll(3);
    expect(net.node(1).readStates).toHaveLength(1);
  });

  test('a follower forwards the request and gets the leader’s read index', () => {
    const net = new TestNet(3);
    net.elect(1);
    net.propose(1, 'x');
    net.node(2).rn.readIndex(enc('f'));
    net.settle();
    expect(net.node(2).readStates).toEqual([{ index: net.raft(1).raftLog.committed, requestCtx: enc('f') }]);
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  test('to an up-to-date follower: MsgTimeoutNow, it wins at once', () => {
    const net = new TestNet(3, { checkQuorum: true, preVote: true });
    net.elect(1);
    net.node(1).rn.transferLeader(2n);
    net.settle();
    expect(net.raft(2).state).toBe('leader');
    expect(net.delivered.some((m) => m.type === 'MsgTimeoutNow' && m.to === 2n)).toBe(true);
  });

  test('to a lagging follower: it is caught up first; proposals are refused meanwhile', () => {
    const net = new TestNet(3);
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'x');
    net.heal();
    const drop = (m: Message) => m.to === 3n;
    net.drops.push(drop);
    net.node(1).rn.transferLeader(3n);
    net.settle();
    expect(net.raft(1).leadTransferee).toBe(3n);
    expect(() => net.node(1).rn.propose(enc('y'))).toThrow(ProposalDroppedError);
    net.heal();
    net.tickAll(1);
    expect(net.raft(3).state).toBe('leader');
    expect(net.appliedData(3)).toEqual(['x']);
  });

  test('a transfer that does not finish within an election timeout is abandoned', () => {
    const net = new TestNet(3);
    net.elect(1);
    net.isolate(3);
    net.node(1).rn.transferLeader(3n);
    net.settle();
    net.tickAll(12);
    expect(net.raft(1).leadTransferee).toBe(None);
    expect(net.raft(1).state).toBe('leader');
  });
});

describe('membership (thesis §4)', () => {
  const cc = (rn: RawNode, type: 'addNode' | 'addLearnerNode' | 'removeNode', id: bigint) =>
    rn.proposeConfChange({ type, nodeId: id });

  test('learners are replicated to, never vote, never campaign; promotion makes them voters', () => {
    const net = new TestNet(3, {}, 1);
    net.elect(1);
    net.propose(1, 'x');
    expect(net.appliedData(4)).toEqual(['x']);
    expect(net.raft(1).trk.config.voters.ids().has(4n)).toBe(false);
    net.tick(4, 100);
    net.settle();
    expect(net.raft(4).state).toBe('follower');
    // a learner's vote does not count: 1 + learner is not a quorum of 3
    net.isolate(2, 3);
    cc(net.node(1).rn, 'addNode', 4n);
    net.settle();
    expect(net.raft(1).raftLog.committed).toBeLessThan(net.raft(1).raftLog.lastIndex());
    net.heal();
    net.tickAll(2);
    expect(net.raft(4).trk.config.voters.ids().has(4n)).toBe(true);
    expect(net.raft(4).isLearner).toBe(false);
  });

  test('a new member starting empty catches up (via snapshot when the log is compacted)', () => {
    const net = new TestNet(3);
    net.elect(1);
    for (let i = 0; i < 5; i++) net.propose(1, `e${i}`);
    const s1 = net.node(1).storage;
    s1.createSnapshot(s1.lastIndex(), net.raft(1).trk.confState(), enc('state'));
    s1.compact(s1.lastIndex());
    net.add(4n);
    cc(net.node(1).rn, 'addLearnerNode', 4n);
    net.settle();
    net.tickAll(3);
    expect(net.delivered.some((m) => m.type === 'MsgSnap' && m.to === 4n)).toBe(true);
    expect(net.raft(4).raftLog.committed).toBe(net.raft(1).raftLog.committed);
  });

  test('one change at a time: a second change before the first is applied becomes a no-op', () => {
    const net = new TestNet(3);
    net.elect(1);
    net.add(4n);
    net.add(5n);
    const rn = net.node(1).rn;
    cc(rn, 'addNode', 4n);
    cc(rn, 'addNode', 5n);
    net.settle();
    const applied = net.node(1).applied.filter((e) => e.type === 'confChange');
    expect(applied).toHaveLength(1);
    expect(net.raft(1).trk.confState().voters).toEqual([1n, 2n, 3n, 4n]);
  });

  test('a removed leader steps down and the rest elect a new one', () => {
    const net = new TestNet(3, { checkQuorum: true, preVote: true });
    net.elect(1);
    cc(net.node(1).rn, 'removeNode', 1n);
    net.settle();
    expect(net.raft(1).state).toBe('follower');
    net.isolate(1);
    net.tickAll(25);
    const leaders = [2, 3].filter((id) => net.raft(id).state === 'leader');
    expect(leaders).toHaveLength(1);
    net.propose(leaders[0]!, 'after');
    expect(net.appliedData(2)).toEqual(['after']);
  });

  test('a new leader accepts no conf change until it applied its whole log', () => {
    const net = new TestNet(3);
    net.drops.push((m) => m.type === 'MsgAppResp');
    net.elect(1);
    net.propose(1, 'x'); // on every log, committed nowhere
    net.heal();
    net.isolate(1);
    net.drops.push((m) => m.type === 'MsgApp');
    net.elect(2);
    const r2 = net.raft(2);
    expect(r2.state).toBe('leader');
    expect(r2.pendingConfIndex).toBeGreaterThan(r2.raftLog.applied);
    net.add(4n);
    cc(net.node(2).rn, 'addNode', 4n);
    const last = r2.raftLog.unstable.entries.at(-1)!;
    expect(last.type).toBe('normal'); // the change was replaced by an empty entry
    expect(last.data).toHaveLength(0);
  });
});

describe('snapshots', () => {
  test('a follower behind the compacted log gets InstallSnapshot and resumes replication', () => {
    const net = new TestNet(3);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 10; i++) net.propose(1, `e${i}`);
    const s1 = net.node(1).storage;
    s1.createSnapshot(s1.lastIndex() - 2, net.raft(1).trk.confState(), enc('snap'));
    s1.compact(s1.lastIndex() - 2);
    net.heal();
    net.tickAll(2);
    expect(net.delivered.filter((m) => m.type === 'MsgSnap' && m.to === 3n)).toHaveLength(1);
    expect(net.node(3).storage.snapshot().data).toEqual(enc('snap'));
    net.propose(1, 'after');
    expect(net.appliedData(3)).toEqual(['e8', 'e9', 'after']);
  });

  test('a lost snapshot is reported and retried', () => {
    const net = new TestNet(2);
    net.elect(1);
    net.isolate(2);
    net.propose(1, 'e');
    const s1 = net.node(1).storage;
    s1.createSnapshot(s1.lastIndex(), net.raft(1).trk.confState(), enc('snap'));
    s1.compact(s1.lastIndex());
    net.heal();
    net.drops.push((m) => m.type === 'MsgSnap');
    net.tickAll(1);
    expect(net.raft(1).trk.progress.get(2n)!.state).toBe('snapshot');
    net.node(1).rn.reportSnapshot(2n, false);
    net.heal();
    net.tickAll(3);
    expect(net.raft(2).raftLog.committed).toBe(net.raft(1).raftLog.committed);
  });
});

describe('odds and ends', () => {
  test('with proposal forwarding disabled a follower refuses proposals', () => {
    const net = new TestNet(3, { disableProposalForwarding: true });
    net.elect(1);
    expect(() => net.node(2).rn.propose(enc('x'))).toThrow(ProposalDroppedError);
    expect(() => new TestNet(3).node(2).rn.propose(enc('x'))).toThrow(/no leader/);
  });

  test('an unreachable report sends a replicating follower back to probing', () => {
    const net = new TestNet(2);
    net.elect(1);
    net.propose(1, 'x');
    expect(net.raft(1).trk.progress.get(2n)!.state).toBe('replicate');
    net.node(1).rn.reportUnreachable(2n);
    expect(net.raft(1).trk.progress.get(2n)!.state).toBe('probe');
  });

  test('a learner is never a transfer target and ignores TimeoutNow', () => {
    const net = new TestNet(3, {}, 1);
    net.elect(1);
    net.node(1).rn.transferLeader(4n);
    net.settle();
    expect(net.raft(1).leadTransferee).toBe(None);
    net.raft(4).step(message({ type: 'MsgTimeoutNow', from: 1n, to: 4n, term: net.raft(1).term }));
    net.settle();
    expect(net.raft(1).state).toBe('leader');
    expect(net.raft(4).state).toBe('follower');
  });

  test('responses from nodes outside the configuration are dropped', () => {
    const net = new TestNet(3);
    net.elect(1);
    const before = net.raft(1).raftLog.committed;
    net.node(1).rn.step(message({ type: 'MsgAppResp', from: 9n, to: 1n, term: net.raft(1).term, index: 99 }));
    expect(net.raft(1).raftLog.committed).toBe(before);
  });
});

describe('host contract', () => {
  test('ready() twice without advance() is refused; local message types cannot be stepped', () => {
    const net = new TestNet(1);
    const rn = net.node(1).rn;
    rn.campaign();
    rn.ready();
    expect(() => rn.ready()).toThrow(ContractError);
    expect(() => rn.step(message({ type: 'MsgHup' }))).toThrow(StepLocalMessageError);
  });

  test('votes are in the Ready that must be persisted before they are sent (mustSync)', () => {
    const net = new TestNet(3);
    net.node(1).rn.campaign();
    const rd = net.node(1).rn.ready();
    expect(rd.hardState).toMatchObject({ vote: 1n });
    expect(rd.mustSync).toBe(true);
    expect(types(rd.messages)).toEqual(['MsgVote', 'MsgVote']);
  });

  test('deterministic: the same inputs and seeds give the same messages', () => {
    const run = () => {
      const net = new TestNet(5, { preVote: true });
      net.tickAll(30);
      net.propose([1, 2, 3, 4, 5].find((id) => net.raft(id).state === 'leader')!, 'x');
      return JSON.stringify(net.delivered, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
    };
    expect(run()).toBe(run());
  });
});
