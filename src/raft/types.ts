/**
 * Plain data exchanged between the consensus core and its host: entries, messages, hard state,
 * snapshots, configurations, and the `Ready` batch.
 *
 * Indexes and terms are `number`s: they grow by one per entry/election, so 2^53 is out of reach
 * for any real cluster, and numbers keep the hot path (comparisons, sorting matches for the
 * commit index) free of bigint allocation. Node ids are `bigint`: etcd member ids are random
 * 64-bit values and are exchanged with clients as such. Payloads are `Uint8Array`.
 */

/** A node id. 0n means "none" (no leader, no vote). */
export type NodeId = bigint;
export const None: NodeId = 0n;

export type EntryType = 'normal' | 'confChange';

/** A log entry. Immutable once created: the same object may sit in several logs in one process. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque for 'normal' (an empty array is the leader's no-op); an encoded ConfChange otherwise. */
  readonly data: Uint8Array;
}

export type MessageType =
  // local: never sent over the wire
  | 'MsgHup'
  | 'MsgBeat'
  | 'MsgCheckQuorum'
  | 'MsgSnapStatus'
  | 'MsgUnreachable'
  // local or forwarded to the leader
  | 'MsgProp'
  | 'MsgReadIndex'
  | 'MsgTransferLeader'
  // peer to peer
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgTimeoutNow'
  | 'MsgReadIndexResp';

/**
 * A message. Fields not meaningful for a type are left at their zero value (0, false, []), like
 * etcd's raftpb.Message, so the server can serialize every message with one schema.
 */
export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  /** 0 for local messages and forwarded proposals/reads; the sender's term otherwise. */
  readonly term: number;
  /** MsgApp: term of the entry at `index`. Votes: the candidate's last log term. Reject hints too. */
  readonly logTerm: number;
  /** MsgApp: index preceding `entries`. AppResp: last matching index. Votes: candidate's last index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly snapshot?: Snapshot;
  readonly reject: boolean;
  readonly rejectHint: number;
  /**
   * MsgApp without entries to a follower the leader knows holds `index` (it only moves the
   * commit index on): a follower whose log matches does not answer, since the answer would tell
   * the leader nothing it does not know. A mismatch is still answered with a rejection.
   */
  readonly commitOnly: boolean;
  /** ReadIndex request context; 'CampaignTransfer' on transfer votes; heartbeat read contexts. */
  readonly context?: Uint8Array;
}

/** State that must be durable before messages depending on it are sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}
export const emptyHardState: HardState = { term: 0, vote: None, commit: 0 };

export type StateRole = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile, informational state (no need to persist). */
export interface SoftState {
  readonly lead: NodeId;
  readonly role: StateRole;
}

/** Members of a configuration. `votersOutgoing` is non-empty only in a joint configuration. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
}
export const emptyConfState: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [] };

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}
export interface Snapshot {
  readonly data: Uint8Array;
  readonly metadata: SnapshotMetadata;
}
export const emptySnapshot: Snapshot = {
  data: new Uint8Array(0),
  metadata: { index: 0, term: 0, confState: emptyConfState },
};
export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

export type ConfChangeType = 'addNode' | 'addLearnerNode' | 'removeNode';

/**
 * One membership change. Changes are applied one at a time (see confchange.ts): adding a voter,
 * adding a learner, promoting a learner (addNode on a learner), demoting a voter to learner
 * (addLearnerNode on a voter), removing a node.
 */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to raft (the server puts the member's peer URLs here). */
  readonly context?: Uint8Array;
}

/** The answer to a ReadIndex request: reads at `index` are linearizable once it is applied. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

/**
 * Everything the host must do, in order (see raw-node.ts for the contract). Arrays are never
 * shared with the core after `ready()` returns.
 */
export interface Ready {
  /** Set when lead or role changed since the previous Ready. */
  readonly softState?: SoftState;
  /** Set when term, vote or commit changed: persist it. */
  readonly hardState?: HardState;
  /** ReadIndex answers produced since the previous Ready. */
  readonly readStates: ReadState[];
  /** Entries to append to stable storage (may overwrite a suffix). */
  readonly entries: Entry[];
  /** A snapshot to persist and install (before `committedEntries`). */
  readonly snapshot?: Snapshot;
  /** Entries to apply to the state machine, in order. */
  readonly committedEntries: Entry[];
  /** Messages to send after the entries and hard state are durable. */
  readonly messages: Message[];
  /** True if entries or hard state (term/vote) must be fsynced before sending messages. */
  readonly mustSync: boolean;
}

/** Source of randomness: an integer in [0, n). Inject a seeded one; the core never uses Math.random. */
export interface Rng {
  int(n: number): number;
}

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/**
 * Builds a message with zero values for the fields not given. Written out field by field: it
 * runs for every message, and object spreads are measurably slower on this path.
 */
export function message(m: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    type: m.type,
    to: m.to ?? None,
    from: m.from ?? None,
    term: m.term ?? 0,
    logTerm: m.logTerm ?? 0,
    index: m.index ?? 0,
    entries: m.entries ?? NO_ENTRIES,
    commit: m.commit ?? 0,
    snapshot: m.snapshot,
    reject: m.reject ?? false,
    rejectHint: m.rejectHint ?? 0,
    commitOnly: m.commitOnly ?? false,
    context: m.context,
  };
}

const LOCAL: ReadonlySet<MessageType> = new Set<MessageType>([
  'MsgHup',
  'MsgBeat',
  'MsgCheckQuorum',
  'MsgSnapStatus',
  'MsgUnreachable',
]);
/** Messages the host may only create through RawNode methods, never receive from the network. */
export function isLocalMessage(t: MessageType): boolean {
  return LOCAL.has(t);
}
export function isResponseMessage(t: MessageType): boolean {
  return (
    t === 'MsgAppResp' ||
    t === 'MsgVoteResp' ||
    t === 'MsgPreVoteResp' ||
    t === 'MsgHeartbeatResp' ||
    t === 'MsgUnreachable'
  );
}

/** Approximate payload size of an entry, for the per-message byte limit. */
export function entrySize(e: Entry): number {
  return e.data.length + 16;
}
