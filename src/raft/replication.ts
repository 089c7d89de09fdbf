/**
 * What a leader sends its followers: appends within each follower's flow control (falling back to
 * a snapshot when the entries are compacted away), and heartbeats that carry commit and ReadIndex
 * contexts.
 */
import type { Raft } from './raft.js';
import type { Progress } from './tracker/progress.js';
import { type Entry, entrySize, type NodeId, type Snapshot } from './types.js';

/** Sends entries (or an empty MsgApp when sendIfEmpty) to `to` if its flow control allows. */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to);
  if (!pr || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.raftLog.term(prevIndex);
  if (prevTerm === undefined) return maybeSendSnapshot(r, to, pr);
  let ents: Entry[] = [];
  // A throttled replicate stream sends only empty appends: they carry commit and detect loss.
  if (pr.state !== 'replicate' || !pr.inflights.full()) {
    try {
      ents = r.raftLog.entries(pr.next, r.maxMsgSize);
    } catch {
      return maybeSendSnapshot(r, to, pr);
    }
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({
    to,
    type: 'MsgApp',
    index: prevIndex,
    logTerm: prevTerm,
    entries: ents,
    commit: r.raftLog.committed,
    // Nothing in flight and nothing new: the follower's answer could only repeat its match.
    // Appends that probe or detect loss (prevIndex past the match) are still answered.
    commitOnly: ents.length === 0 && pr.state === 'replicate' && pr.match === prevIndex,
  });
  let bytes = 0;
  for (const e of ents) bytes += entrySize(e);
  pr.sentEntries(ents.length, bytes);
  return true;
}

export function maybeSendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  if (!pr.recentActive) return false;
  let snapshot: Snapshot;
  try {
    snapshot = r.raftLog.snapshot();
  } catch {
    return false; // temporarily unavailable: retried on the next heartbeat response
  }
  if (snapshot.metadata.index === 0) throw new Error('need non-empty snapshot');
  pr.becomeSnapshot(snapshot.metadata.index);
  r.send({ to, type: 'MsgSnap', snapshot });
  return true;
}

/** Sends to every follower as much as flow control allows (and at least the commit index). */
export function bcastAppend(r: Raft): void {
  r.trk.visit((id) => {
    if (id === r.id) return;
    if (!maybeSendAppend(r, id, true)) return;
    while (maybeSendAppend(r, id, false));
  });
}

export function sendHeartbeat(r: Raft, to: NodeId, ctx: Uint8Array | undefined): void {
  // Never advance a follower's commit past what it is known to hold.
  const pr = r.trk.progress.get(to)!;
  const commit = Math.min(pr.match, r.raftLog.committed);
  r.send({ to, type: 'MsgHeartbeat', commit, context: ctx });
}

export function bcastHeartbeat(r: Raft, ctx = r.readOnly.lastPendingRequestCtx()): void {
  r.trk.visit((id) => {
    if (id !== r.id) sendHeartbeat(r, id, ctx);
  });
}
