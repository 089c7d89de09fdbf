/**
 * The consensus core's plain data ↔ the peer protocol's protobuf messages (src/gen/concord).
 * Indexes and terms are numbers in the core and uint64 on the wire.
 */
import {
  type ConfState as PbConfState,
  type Entry as PbEntry,
  EntryType as PbEntryType,
  type Message as PbMessage,
} from '../gen/concord/raftpb.js';
import type { ConfState, Entry, Message, MessageType, SnapshotMetadata } from '../raft/index.js';

const MESSAGE_TYPES: ReadonlySet<string> = new Set<MessageType>([
  'MsgProp',
  'MsgReadIndex',
  'MsgTransferLeader',
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgPreVote',
  'MsgPreVoteResp',
  'MsgSnap',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgTimeoutNow',
  'MsgReadIndexResp',
]);

export class PeerProtocolError extends Error {
  readonly code = 'bad-peer-message';
  constructor(what: string) {
    super(`concord: bad peer message: ${what}`);
    this.name = 'PeerProtocolError';
  }
}

const EMPTY = Buffer.alloc(0);

function toPbEntry(e: Entry): PbEntry {
  return {
    term: BigInt(e.term),
    index: BigInt(e.index),
    type: e.type === 'normal' ? PbEntryType.ENTRY_NORMAL : PbEntryType.ENTRY_CONF_CHANGE,
    data: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength),
  };
}

function fromPbEntry(e: PbEntry): Entry {
  return {
    term: Number(e.term),
    index: Number(e.index),
    type: e.type === PbEntryType.ENTRY_CONF_CHANGE ? 'confChange' : 'normal',
    data: e.data,
  };
}

export function toPbConfState(c: ConfState): PbConfState {
  return {
    voters: [...c.voters],
    learners: [...c.learners],
    votersOutgoing: [...c.votersOutgoing],
    learnersNext: [...c.learnersNext],
  };
}

export function fromPbConfState(c: PbConfState | undefined): ConfState {
  return {
    voters: c?.voters ?? [],
    learners: c?.learners ?? [],
    votersOutgoing: c?.votersOutgoing ?? [],
    learnersNext: c?.learnersNext ?? [],
  };
}

/** The wire form of `m`. A MsgSnap carries only the snapshot's metadata: its data is streamed apart. */
export function toPbMessage(m: Message): PbMessage {
  return {
    type: m.type,
    to: m.to,
    from: m.from,
    term: BigInt(m.term),
    logTerm: BigInt(m.logTerm),
    index: BigInt(m.index),
    entries: m.entries.map(toPbEntry),
    commit: BigInt(m.commit),
    snapshot: m.snapshot
      ? {
          index: BigInt(m.snapshot.metadata.index),
          term: BigInt(m.snapshot.metadata.term),
          confState: toPbConfState(m.snapshot.metadata.confState),
        }
      : undefined,
    reject: m.reject,
    rejectHint: BigInt(m.rejectHint),
    commitOnly: m.commitOnly,
    hasContext: m.context !== undefined,
    context: m.context ? Buffer.from(m.context.buffer, m.context.byteOffset, m.context.byteLength) : EMPTY,
  };
}

export function snapshotMetadataOf(m: PbMessage): SnapshotMetadata | undefined {
  const s = m.snapshot;
  if (!s) return undefined;
  return { index: Number(s.index), term: Number(s.term), confState: fromPbConfState(s.confState) };
}

/** The core's form of a received message; `snapshotData` fills a MsgSnap's snapshot. */
export function fromPbMessage(m: PbMessage, snapshotData?: Uint8Array): Message {
  if (!MESSAGE_TYPES.has(m.type)) throw new PeerProtocolError(`unknown type ${JSON.stringify(m.type)}`);
  const meta = snapshotMetadataOf(m);
  return {
    type: m.type as MessageType,
    to: m.to,
    from: m.from,
    term: Number(m.term),
    logTerm: Number(m.logTerm),
    index: Number(m.index),
    entries: m.entries.map(fromPbEntry),
    commit: Number(m.commit),
    snapshot: meta ? { data: snapshotData ?? EMPTY, metadata: meta } : undefined,
    reject: m.reject,
    rejectHint: Number(m.rejectHint),
    commitOnly: m.commitOnly,
    context: m.hasContext ? m.context : undefined,
  };
}
