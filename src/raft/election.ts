/**
 * Elections (§5.2; PreVote from §9.6 of the thesis): starting a campaign, asking for votes and
 * counting them. Pure, like the rest of the core; the candidate's handling of incoming messages is
 * in step-candidate.ts.
 */
import type { Raft } from './raft.js';
import type { MessageType, NodeId } from './types.js';

/** Context of a MsgVote sent because of a leadership transfer: it bypasses the leader lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

export type CampaignType = 'preElection' | 'election' | 'transfer';

export function voteRespType(t: MessageType): MessageType {
  if (t === 'MsgVote') return 'MsgVoteResp';
  if (t === 'MsgPreVote') return 'MsgPreVoteResp';
  throw new Error(`not a vote message: ${t}`);
}

export function hasUnappliedConfChanges(r: Raft): boolean {
  const lo = Math.max(r.raftLog.applied + 1, r.raftLog.firstIndex());
  const hi = r.raftLog.committed + 1;
  if (lo >= hi) return false;
  for (const e of r.raftLog.slice(lo, hi, Number.POSITIVE_INFINITY)) if (e.type === 'confChange') return true;
  return false;
}

export function hup(r: Raft, t: CampaignType): void {
  if (r.state === 'leader') return;
  if (!r.promotable()) return;
  // A node must know its configuration before campaigning under it.
  if (hasUnappliedConfChanges(r)) return;
  campaign(r, t);
}

export function campaign(r: Raft, t: CampaignType): void {
  let term: number;
  let voteMsg: MessageType;
  if (t === 'preElection') {
    r.becomePreCandidate();
    voteMsg = 'MsgPreVote';
    term = r.term + 1; // the term we would campaign in; our own term is unchanged
  } else {
    r.becomeCandidate();
    voteMsg = 'MsgVote';
    term = r.term;
  }
  if (poll(r, r.id, voteRespType(voteMsg), true) === 'won') {
    // A single-voter configuration wins at once.
    if (t === 'preElection') campaign(r, 'election');
    else r.becomeLeader();
    return;
  }
  const index = r.raftLog.lastIndex();
  const logTerm = r.raftLog.lastTerm();
  for (const id of r.trk.voterIds()) {
    if (id === r.id) continue;
    r.send({
      to: id,
      term,
      type: voteMsg,
      index,
      logTerm,
      context: t === 'transfer' ? CAMPAIGN_TRANSFER : undefined,
    });
  }
}

export function poll(r: Raft, id: NodeId, _t: MessageType, granted: boolean): 'won' | 'lost' | 'pending' {
  r.trk.recordVote(id, granted);
  return r.trk.tallyVotes().result;
}
