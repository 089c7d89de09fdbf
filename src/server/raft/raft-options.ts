/**
 * What a RaftProposer starts from: the state recovery found on disk, and the member's settings.
 */
import type { ConnectionOptions } from 'node:tls';
import type { ChannelCredentials } from 'nice-grpc';
import type { LogSink } from '../../log.js';
import type { StateMachine, StateMachineOptions } from '../../mvcc/index.js';
import type { HardState } from '../../raft/index.js';
import type { FileSnapshotStore, SnapshotMeta, Wal, WalEntry } from '../../storage/index.js';
import type { ServerMetrics } from '../metrics.js';
import type { Membership } from './membership.js';

export interface RaftRecovered {
  sm: StateMachine;
  smOptions: StateMachineOptions;
  wal: Wal;
  snapshots: FileSnapshotStore;
  hardState: HardState;
  snapshotIndex: number;
  snapshotTerm: number;
  /** WAL entries after the snapshot (committed or not). */
  entries: WalEntry[];
  membership: Membership;
}

export interface RaftProposerOptions {
  memberId: bigint;
  clusterId: bigint;
  name: string;
  clientUrls: string[];
  heartbeatMs: number;
  electionMs: number;
  snapshotCount: number;
  /** Entries kept behind a snapshot (SNAPSHOT_CATCH_UP_ENTRIES unless --experimental-snapshot-catchup-entries). */
  snapshotCatchUpEntries?: number;
  maxRequestBytes: number;
  /** True for a member of a new cluster starting for the first time (elections start at once). */
  fresh: boolean;
  onApplied?: () => void;
  /** A new local snapshot is durable (the member may share it, see --snapshot-store). */
  onSnapshotSaved?: (meta: SnapshotMeta) => void;
  /** Where the member logs (a Logger, or a function given each line's text). */
  log: LogSink;
  /** etcd's --experimental-warning-apply-duration: an apply slower than this is warned about (default 100 ms). */
  warningApplyDurationMs?: number;
  metrics?: ServerMetrics;
  /** Credentials for a peer URL (TLS for https:// peers); default: plain, or TLS with the system's CAs. */
  peerCredentials?: (peerUrl: string) => ChannelCredentials;
  /** TLS for the raft stream to an https:// peer URL; default: the system's CAs, no client certificate. */
  peerTlsOptions?: (peerUrl: string) => ConnectionOptions;
}
