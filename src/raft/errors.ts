/**
 * Typed errors of the consensus core. Each has a stable string `code`; messages follow etcd's raft
 * where it has one (the server maps some of them onto gRPC errors).
 */
export class RaftError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Storage: the requested index is behind the first available entry (compacted into a snapshot). */
export class CompactedError extends RaftError {
  constructor() {
    super('compacted', 'requested index is unavailable due to compaction');
  }
}
/** Storage: a snapshot older than the one held was offered. */
export class SnapOutOfDateError extends RaftError {
  constructor() {
    super('snap-out-of-date', 'requested index is older than the existing snapshot');
  }
}
/** Storage: the requested entry is past the last index. */
export class UnavailableError extends RaftError {
  constructor() {
    super('unavailable', 'requested entry at index is unavailable');
  }
}
/** Storage: the snapshot is being produced; the leader retries later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor() {
    super('snapshot-temporarily-unavailable', 'snapshot is temporarily unavailable');
  }
}
/** A proposal was not appended (no leader known, a transfer in progress, removed from the cluster). */
export class ProposalDroppedError extends RaftError {
  constructor(reason = '') {
    super('proposal-dropped', reason ? `raft proposal dropped: ${reason}` : 'raft proposal dropped');
  }
}
/** The host stepped a message type that only the core may create. */
export class StepLocalMessageError extends RaftError {
  constructor() {
    super('step-local-msg', 'raft: cannot step raft local message');
  }
}
/** A response arrived from a node that is not in the configuration. */
export class StepPeerNotFoundError extends RaftError {
  constructor() {
    super('step-peer-not-found', 'raft: cannot step as peer not found');
  }
}
/** The host broke the Ready contract (e.g. `ready()` twice without `advance()`). */
export class ContractError extends RaftError {
  constructor(message: string) {
    super('contract', message);
  }
}
/** A conf change that cannot be applied (would leave no voters, change two voters at once …). */
export class ConfChangeError extends RaftError {
  constructor(message: string) {
    super('conf-change', message);
  }
}
