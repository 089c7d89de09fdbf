/**
 * The Raft paper's Figure 8, scripted on the simulated cluster (5 members, one entry per MsgApp,
 * elections only when the script calls them). It shows why a leader must not commit an entry
 * of an earlier term by counting replicas:
 *  (a) S1 leads term 2 and gets its entry (index 2) to S2 only;
 *  (b) S1 crashes; S5 is elected in term 3 by S3, S4 and itself and writes index 2 locally; crashes;
 *  (c) S1 restarts and is elected in term 4; it replicates the term-2 entry to S3 (now on a
 *      majority: S1, S2, S3) but not its own term-4 entry. Counting replicas would commit it;
 *  (d) S1 crashes; S5 restarts and is elected in term 5 (its last term 3 beats their 2) and
 *      overwrites index 2 everywhere.
 * With the current-term rule nothing is lost. With the broken rule, (c) commits and applies
 * index 2 and (d) loses it: the invariants catch the violation.
 */
import type { RaftConfig, RawNode } from '../../src/raft/index.js';
import { Cluster, DEFAULT_CLUSTER_OPTIONS } from './cluster.js';

export interface Figure8Result {
  cluster: Cluster;
  /** S1's commit index just before its second crash. */
  s1CommitAtC: number;
}

export function runFigure8(makeNode?: (c: RaftConfig) => RawNode): Figure8Result {
  const c = new Cluster({
    ...DEFAULT_CLUSTER_OPTIONS,
    seed: 8,
    voters: 5,
    electionTick: 100_000, // only the script starts elections
    preVote: false,
    checkQuorum: false,
    maxSizePerMsg: 1,
    network: { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 1 },
    ...(makeNode ? { makeNode } : {}),
  });
  const raft = (id: number) => c.node(BigInt(id)).rn!.raft;
  const settle = () => c.run(20);

  // (a) S1 leads term 2; its entries reach S2 only.
  c.net.filter = (m) => !(m.type === 'MsgApp' && m.from === 1n && m.to !== 2n);
  c.node(1n).rn!.campaign();
  settle();
  if (raft(1).state !== 'leader' || raft(1).term !== 2)
    throw new Error('figure 8 (a): S1 did not win term 2');
  c.crash(1n);

  // (b) S5 wins term 3 with S3 and S4, writes index 2 and keeps it to itself.
  c.net.filter = (m) => !(m.type === 'MsgApp' && m.from === 5n);
  c.node(5n).rn!.campaign();
  settle();
  if (raft(5).state !== 'leader' || raft(5).term !== 3)
    throw new Error('figure 8 (b): S5 did not win term 3');
  c.crash(5n);

  // (c) S1 wins term 4 with S2, S3 (and S4); replicates the term-2 entry to S3 but no term-4 entry.
  c.restart(1n);
  c.net.filter = (m) => !(m.from === 1n && m.type === 'MsgApp' && m.to !== 2n && m.to !== 3n);
  // Appends to S2 and S3 arrive without their term-4 entries (as if those messages were lost
  // while earlier ones got through).
  c.net.rewrite = (m) =>
    m.from === 1n && m.type === 'MsgApp' ? { ...m, entries: m.entries.filter((e) => e.term !== 4) } : m;
  for (let i = 0; i < 3 && raft(1).state !== 'leader'; i++) {
    c.node(1n).rn!.campaign();
    settle();
  }
  if (raft(1).state !== 'leader' || raft(1).term !== 4)
    throw new Error('figure 8 (c): S1 did not win term 4');
  c.run(40);
  if (raft(3).raftLog.term(2) !== 2) throw new Error('figure 8 (c): S3 did not get the term-2 entry');
  const s1CommitAtC = raft(1).raftLog.committed;
  c.crash(1n);

  // (d) S5 wins term 5 and overwrites index 2.
  // (S1's filter and rewrite stay: its last messages are still in flight.)
  c.restart(5n);
  for (let i = 0; i < 4 && raft(5).state !== 'leader'; i++) {
    c.node(5n).rn!.campaign();
    settle();
  }
  if (raft(5).state !== 'leader') throw new Error('figure 8 (d): S5 did not win');
  c.restart(1n);
  c.run(100);
  return { cluster: c, s1CommitAtC };
}
