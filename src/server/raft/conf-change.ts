/**
 * Membership changes as the log carries them: a raft ConfChange whose context (opaque to raft)
 * names the member being added and the proposal waiting for it, and what applying one does to
 * the replicated member list and the peer links.
 */
import type { ConfChange, ConfState } from '../../raft/index.js';
import type { Membership } from './membership.js';

/** What a conf change entry carries for the host. */
export interface ConfChangeContext {
  prefix: number;
  counter: number;
  member?: { name: string; peerUrls: string[] };
}

export function encodeConfChangeContext(ctx: ConfChangeContext): Uint8Array {
  return Buffer.from(JSON.stringify(ctx));
}

/** The context of a committed change; undefined when absent or unreadable (raft's own changes). */
export function decodeConfChangeContext(cc: ConfChange): ConfChangeContext | undefined {
  if (!cc.context?.length) return undefined;
  try {
    return JSON.parse(Buffer.from(cc.context).toString('utf8')) as ConfChangeContext;
  } catch {
    return undefined;
  }
}

export interface PeerLinks {
  addPeer(id: bigint, url: string): void;
  removePeer(id: bigint): void;
}

/**
 * Records a committed change in the member list, given the configuration the core adopted for
 * it, and links or unlinks the peer. Returns the change's context.
 */
export function applyMembershipChange(
  membership: Membership,
  confState: ConfState,
  cc: ConfChange,
  self: bigint,
  peers: PeerLinks,
): ConfChangeContext | undefined {
  const ctx = decodeConfChangeContext(cc);
  membership.confState = confState;
  const id = cc.nodeId;
  if (cc.type === 'removeNode') {
    membership.members.delete(id);
    membership.removed.add(id);
    if (id !== self) peers.removePeer(id);
    return ctx;
  }
  const learner = cc.type === 'addLearnerNode';
  const known = membership.members.get(id);
  if (known) known.isLearner = learner;
  else if (ctx?.member)
    membership.members.set(id, {
      id,
      name: ctx.member.name,
      peerUrls: ctx.member.peerUrls,
      clientUrls: [],
      isLearner: learner,
    });
  const url = membership.members.get(id)?.peerUrls[0];
  if (id !== self && url) peers.addPeer(id, url);
  return ctx;
}

/** The applied configuration, as a log line reads it. */
export function describeConfState(cs: ConfState): string {
  const hex = (ids: readonly bigint[]) => ids.map((v) => v.toString(16)).join(',') || '-';
  return `voters ${hex(cs.voters)} learners ${hex(cs.learners)}`;
}
