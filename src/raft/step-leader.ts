/**
 * The step function of a leader: proposals, ReadIndex (§6.4 of the thesis), the followers'
 * responses that drive replication and commit, CheckQuorum, and leadership transfer (§3.10).
 */
import { ProposalDroppedError } from './errors.js';
import type { Raft } from './raft.js';
import { bcastHeartbeat, maybeSendAppend } from './replication.js';
import { type Entry, type Message, None } from './types.js';

const EMPTY = new Uint8Array(0);

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case 'MsgBeat':
      bcastHeartbeat(r);
      return;
    case 'MsgCheckQuorum':
      if (!r.trk.quorumActive()) r.becomeFollower(r.term, None);
      for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case 'MsgProp': {
      if (m.entries.length === 0) throw new Error('stepped empty MsgProp');
      if (!r.trk.progress.has(r.id)) throw new ProposalDroppedError('leader was removed from the cluster');
      if (r.leadTransferee !== None) throw new ProposalDroppedError('leadership transfer in progress');
      const ents = m.entries.map((e, i): Entry => {
        if (e.type !== 'confChange') return e;
        if (r.pendingConfIndex > r.raftLog.applied) {
          // One change at a time: the previous one is not applied yet. Keep the slot, drop the change.
          return { term: 0, index: 0, type: 'normal', data: EMPTY };
        }
        r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
        return e;
      });
      r.appendEntry(ents);
      r.needBcast = true;
      return;
    }
    case 'MsgReadIndex':
      if (r.trk.isSingleton()) {
        r.respondToReadIndex(m, r.raftLog.committed);
        return;
      }
      // §6.4 of the thesis: our commit index is only known to be current once we committed an
      // entry of our own term.
      if (r.raftLog.term(r.raftLog.committed) !== r.term) {
        r.pendingReadIndexMessages.push(m);
        return;
      }
      r.sendReadIndexResponse(m);
      return;
  }

  const pr = r.trk.progress.get(m.from);
  if (!pr) return;
  switch (m.type) {
    case 'MsgAppResp': {
      pr.recentActive = true;
      if (m.reject) {
        // Fast back-off: skip the follower's whole conflicting term at once.
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === 'replicate') pr.becomeProbe();
          maybeSendAppend(r, m.from, true);
        }
        return;
      }
      const oldPaused = pr.isPaused();
      if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
        if (pr.state === 'probe') pr.becomeReplicate();
        else if (pr.state === 'snapshot' && pr.match + 1 >= r.raftLog.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

        if (r.maybeCommit()) {
          r.releasePendingReadIndexMessages();
          r.needBcast = true;
        } else if (oldPaused) {
          maybeSendAppend(r, m.from, true);
        }
        while (maybeSendAppend(r, m.from, false));
        if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(m.from);
      }
      return;
    }
    case 'MsgHeartbeatResp': {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      if (pr.match < r.raftLog.lastIndex() || pr.state === 'probe') maybeSendAppend(r, m.from, true);
      if (!m.context || m.context.length === 0) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (!acks || r.trk.config.voters.voteResult(acks) !== 'won') return;
      for (const rs of r.readOnly.advance(m.context)) r.respondToReadIndex(rs.req, rs.index);
      // Reads that arrived during r round ride on the next one, started right away.
      if (r.readOnly.size > 0) bcastHeartbeat(r, r.readOnly.lastPendingRequestCtx());
      return;
    }
    case 'MsgSnapStatus':
      if (pr.state !== 'snapshot') return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for a heartbeat response before probing: the follower may still be installing.
      pr.msgAppFlowPaused = true;
      return;
    case 'MsgUnreachable':
      if (pr.state === 'replicate') pr.becomeProbe();
      return;
    case 'MsgTransferLeader': {
      if (pr.isLearner) return;
      const transferee = m.from;
      if (r.leadTransferee !== None) {
        if (r.leadTransferee === transferee) return;
        r.leadTransferee = None;
      }
      if (transferee === r.id) return;
      // The transfer must finish within an election timeout (tickHeartbeat aborts it).
      r.electionElapsed = 0;
      r.leadTransferee = transferee;
      if (pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(transferee);
      else maybeSendAppend(r, transferee, true);
      return;
    }
  }
}
