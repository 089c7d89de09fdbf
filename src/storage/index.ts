/**
 * Storage owns what a member keeps across restarts: the write-ahead log (Raft entries, hard
 * state, snapshot markers) and the snapshot stores (local files by default, PostgreSQL when
 * configured). Nothing here knows Raft's rules beyond the host contract of etcd-io/raft.
 */
export * from './errors.js';
export { WAL_FORMAT_VERSION } from './wal/segment.js';
export type { HardState, SnapshotMarker, TornTail, WalContents, WalEntry } from './wal/types.js';
export { WAL_SEGMENT_BYTES, Wal, type WalOptions, type WalStats } from './wal/wal.js';
