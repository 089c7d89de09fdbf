/**
 * Storage owns what a member keeps across restarts: the write-ahead log (Raft entries, hard
 * state, snapshot markers) and the snapshot stores (local files by default, PostgreSQL when
 * configured). Nothing here knows Raft's rules beyond the host contract of etcd-io/raft.
 */
export * from './errors.js';
export { copySnapshot } from './snap/copy.js';
export {
  FileSnapshotStore,
  SNAPSHOT_FILE_VERSION,
  SNAPSHOT_READ_CHUNK_BYTES,
} from './snap/file-store.js';
export { openSnapshotStore } from './snap/open-store.js';
export { PG_SCHEMA_VERSION } from './snap/pg-schema.js';
export {
  PG_CALL_TIMEOUT_MS,
  PG_CHUNK_BYTES,
  PG_CONNECT_TIMEOUT_MS,
  PG_POOL_SIZE,
  PG_READ_BATCH_CHUNKS,
  PG_SAVE_TIMEOUT_MS,
  PG_STATEMENT_TIMEOUT_MS,
  PG_WRITE_PIPELINE,
  PostgresSnapshotStore,
  type PostgresSnapshotStoreOptions,
} from './snap/pg-store.js';
export type * from './snap/types.js';
export { hexId } from './snap/types.js';
export {
  SnapshotUploader,
  type SnapshotUploaderOptions,
  UPLOAD_MAX_BACKOFF_MS,
  UPLOAD_MIN_BACKOFF_MS,
  UPLOAD_TIMEOUT_MS,
  type UploaderMetrics,
} from './snap/uploader.js';
export { WAL_FORMAT_VERSION } from './wal/segment.js';
export type { HardState, SnapshotMarker, TornTail, WalContents, WalEntry } from './wal/types.js';
export { WAL_SEGMENT_BYTES, Wal, type WalOptions, type WalStats } from './wal/wal.js';
