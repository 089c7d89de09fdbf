/**
 * The step function of a follower, and the handlers of a leader's messages it shares with
 * candidates (which turn follower on hearing from a leader of their term): appends, heartbeats,
 * snapshots. Proposals, reads and transfers are forwarded to the leader.
 */
import { hup } from './election.js';
import { ProposalDroppedError } from './errors.js';
import type { Raft } from './raft.js';
import { type Message, None } from './types.js';

const EMPTY = new Uint8Array(0);

/** The messages only a leader sends: hearing one makes its sender our leader for the term. */
const FROM_LEADER = {
  MsgApp: handleAppendEntries,
  MsgHeartbeat: handleHeartbeat,
  MsgSnap: handleSnapshot,
} as const;

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'MsgProp':
      if (r.lead === None) throw new ProposalDroppedError('no leader');
      if (r.disableProposalForwarding) throw new ProposalDroppedError('proposal forwarding disabled');
      r.send({ ...m, to: r.lead });
      return;
    case 'MsgApp':
    case 'MsgHeartbeat':
    case 'MsgSnap':
      r.electionElapsed = 0;
      r.lead = m.from;
      FROM_LEADER[m.type](r, m);
      return;
    case 'MsgTransferLeader':
      if (r.lead === None) return;
      r.send({ ...m, to: r.lead });
      return;
    case 'MsgTimeoutNow':
      // The leader asked us to take over: campaign at once, bypassing PreVote and leases.
      hup(r, 'transfer');
      return;
    case 'MsgReadIndex':
      if (r.lead === None) return; // dropped: the host times the read out
      r.send({ ...m, to: r.lead });
      return;
    case 'MsgReadIndexResp':
      r.readStates.push({ index: m.index, requestCtx: m.context ?? EMPTY });
      return;
  }
}

export function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.raftLog.committed) {
    r.send({ to: m.from, type: 'MsgAppResp', index: r.raftLog.committed });
    return;
  }
  const lastnewi = r.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastnewi !== undefined) {
    // The leader already counts us at m.index; the answer would cost it a read and a step per
    // follower per write, on the path of the next client's answer.
    if (m.commitOnly && m.entries.length === 0) return;
    r.send({ to: m.from, type: 'MsgAppResp', index: lastnewi });
    return;
  }
  // Reject with a hint: our last index <= m.index whose term is <= m.logTerm, so the leader
  // can skip every entry of a conflicting term in one round trip.
  const hint = Math.min(m.index, r.raftLog.lastIndex());
  const [hintIndex, hintTerm] = r.raftLog.findConflictByTerm(hint, m.logTerm);
  r.send({
    to: m.from,
    type: 'MsgAppResp',
    index: m.index,
    reject: true,
    rejectHint: hintIndex,
    logTerm: hintTerm,
  });
}

export function handleHeartbeat(r: Raft, m: Message): void {
  r.raftLog.commitTo(m.commit);
  r.send({ to: m.from, type: 'MsgHeartbeatResp', context: m.context });
}

export function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot!;
  if (r.restore(s)) r.send({ to: m.from, type: 'MsgAppResp', index: r.raftLog.lastIndex() });
  else r.send({ to: m.from, type: 'MsgAppResp', index: r.raftLog.committed });
}
