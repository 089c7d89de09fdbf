/**
 * The step function of a candidate and a pre-candidate: count the (pre)votes of its campaign, and
 * give up to a leader of its term. Campaigns start in election.ts.
 */
import { campaign, poll } from './election.js';
import { ProposalDroppedError } from './errors.js';
import type { Raft } from './raft.js';
import { handleAppendEntries, handleHeartbeat, handleSnapshot } from './step-follower.js';
import { type Message, type MessageType, None } from './types.js';

export function stepCandidate(r: Raft, m: Message): void {
  const myVoteResp: MessageType = r.state === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
  switch (m.type) {
    case 'MsgProp':
      throw new ProposalDroppedError('no leader');
    case 'MsgApp':
      r.becomeFollower(m.term, m.from); // a leader of our term exists (§5.2)
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case 'MsgSnap':
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case myVoteResp: {
      const res = poll(r, m.from, m.type, !m.reject);
      if (res === 'won') {
        if (r.state === 'preCandidate') campaign(r, 'election');
        else r.becomeLeader();
      } else if (res === 'lost') {
        // A lost pre-vote or vote: back to follower in the (unchanged) term.
        r.becomeFollower(r.term, None);
      }
      return;
    }
  }
}
