/**
 * Membership changes, one at a time (§4.1 of the Raft thesis): each change adds, removes,
 * promotes or demotes a single node, so the majorities of the configurations before and after
 * always intersect. A change takes effect on a member when that member *applies* its entry
 * (the host calls RawNode.applyConfChange); the leader accepts a new change only once the
 * previous one is applied, and only after committing an entry of its own term (becomeLeader
 * marks its whole log as possibly holding a pending change), which closes the known hole in
 * single-server changes across leader changes.
 *
 * Joint consensus is represented by the quorum layer (quorum/joint.ts, ConfState.votersOutgoing)
 * so that snapshots written by a joint-capable version restore, but this module only produces
 * simple changes.
 */
import { ConfChangeError } from './errors.js';
import { JointConfig } from './quorum/joint.js';
import { MajorityConfig } from './quorum/majority.js';
import { Progress } from './tracker/progress.js';
import { emptyConfig, type ProgressTracker, type TrackerConfig } from './tracker/tracker.js';
import type { ConfChange, ConfState, NodeId } from './types.js';

export interface ChangeResult {
  config: TrackerConfig;
  progress: Map<NodeId, Progress>;
}

/** Applies one change to a copy of the tracker's configuration and progress. */
export function applySimple(tracker: ProgressTracker, lastIndex: number, cc: ConfChange): ChangeResult {
  if (tracker.config.voters.isJoint())
    throw new ConfChangeError('can not apply a simple change in a joint config');
  const voters = new Set(tracker.config.voters.incoming.ids);
  const learners = new Set(tracker.config.learners);
  const progress = new Map(tracker.progress);
  const id = cc.nodeId;
  if (id === 0n) return { config: tracker.config, progress }; // etcd: a zero id is a no-op change
  const init = (isLearner: boolean): Progress => {
    const pr = new Progress({
      match: 0,
      next: Math.max(lastIndex, 1),
      maxInflight: tracker.maxInflight,
      maxInflightBytes: tracker.maxInflightBytes,
      isLearner,
    });
    // A new member counts as active, or CheckQuorum would depose the leader before it answers.
    pr.recentActive = true;
    return pr;
  };
  switch (cc.type) {
    case 'addNode':
    case 'addLearnerNode': {
      // Adding a member already there moves it between voters and learners.
      const isLearner = cc.type === 'addLearnerNode';
      const [into, outOf] = isLearner ? [learners, voters] : [voters, learners];
      into.add(id);
      outOf.delete(id);
      const pr = progress.get(id);
      if (pr) pr.isLearner = isLearner;
      else progress.set(id, init(isLearner));
      break;
    }
    case 'removeNode':
      voters.delete(id);
      learners.delete(id);
      progress.delete(id);
      break;
  }
  if (voters.size === 0) throw new ConfChangeError('removed all voters');
  let diff = 0;
  for (const v of voters) if (!tracker.config.voters.incoming.ids.has(v)) diff++;
  for (const v of tracker.config.voters.incoming.ids) if (!voters.has(v)) diff++;
  if (diff > 1) throw new ConfChangeError('more than one voter changed without entering joint config');
  return {
    config: { voters: new JointConfig(new MajorityConfig(voters)), learners, learnersNext: new Set() },
    progress,
  };
}

/** Builds the configuration recorded in a ConfState (after a restart or a snapshot install). */
export function restore(tracker: ProgressTracker, lastIndex: number, cs: ConfState): ChangeResult {
  const progress = new Map<NodeId, Progress>();
  const mk = (isLearner: boolean) =>
    new Progress({
      match: 0,
      next: lastIndex + 1,
      maxInflight: tracker.maxInflight,
      maxInflightBytes: tracker.maxInflightBytes,
      isLearner,
    });
  for (const id of [...cs.voters, ...cs.votersOutgoing]) if (!progress.has(id)) progress.set(id, mk(false));
  for (const id of [...cs.learners, ...cs.learnersNext]) if (!progress.has(id)) progress.set(id, mk(true));
  if (cs.voters.length === 0 && cs.votersOutgoing.length === 0 && cs.learners.length > 0) {
    throw new ConfChangeError('restoring a configuration with learners and no voters');
  }
  const config: TrackerConfig =
    cs.voters.length === 0 && cs.learners.length === 0
      ? emptyConfig()
      : {
          voters: new JointConfig(new MajorityConfig(cs.voters), new MajorityConfig(cs.votersOutgoing)),
          learners: new Set(cs.learners),
          learnersNext: new Set(cs.learnersNext),
        };
  return { config, progress };
}

/** ConfChange <-> entry data. A tiny JSON form: ids as decimal strings (they are 64-bit). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const ctx = cc.context ? Array.from(cc.context) : undefined;
  return new TextEncoder().encode(JSON.stringify({ t: cc.type, id: cc.nodeId.toString(), c: ctx }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const o = JSON.parse(new TextDecoder().decode(data)) as { t: ConfChange['type']; id: string; c?: number[] };
  return o.c
    ? { type: o.t, nodeId: BigInt(o.id), context: Uint8Array.from(o.c) }
    : { type: o.t, nodeId: BigInt(o.id) };
}
