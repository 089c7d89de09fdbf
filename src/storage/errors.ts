/**
 * Typed storage errors. Each has a stable string `code`; WAL corruption errors carry the file
 * and byte offset so an operator can find (and, if they choose, cut) the damage by hand.
 */

export class StorageError extends Error {
  /** A stable identifier for the kind of error, e.g. `'wal-corrupt'`. */
  readonly code: string;
  constructor(code: string, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** A WAL record failed its checks somewhere other than the torn tail of the last segment. */
export class WalCorruptError extends StorageError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super('wal-corrupt', `wal: corrupt record in ${file} at offset ${offset}: ${reason}`);
  }
}

/** The data dir was written by a newer format than this build understands. */
export class WalVersionError extends StorageError {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      'wal-version',
      `wal: ${file} has format version ${found}, this build reads up to version ${supported}; ` +
        'run a newer concord on this data dir',
    );
  }
}

/** The WAL can no longer be written (a previous write or fsync failed, or it was closed). */
export class WalClosedError extends StorageError {
  constructor(message = 'wal: closed', cause?: unknown) {
    super('wal-closed', message, { cause });
  }
}

/** A snapshot's bytes do not match the size or SHA-256 recorded when it was saved. */
export class SnapshotChecksumError extends StorageError {
  constructor(
    readonly id: string,
    detail: string,
  ) {
    super('snapshot-checksum', `snapshot ${id}: checksum mismatch (${detail})`);
  }
}

export class SnapshotNotFoundError extends StorageError {
  constructor(readonly id: string) {
    super('snapshot-not-found', `snapshot ${id}: not found`);
  }
}

/** A snapshot file or schema written by a newer format than this build understands. */
export class SnapshotFormatError extends StorageError {
  constructor(message: string) {
    super('snapshot-format', message);
  }
}

/** The snapshot store (the database) could not be reached or failed. */
export class StoreUnavailableError extends StorageError {
  constructor(message: string, cause?: unknown) {
    super('store-unavailable', message, { cause });
  }
}

/** The caller's deadline passed (or its signal aborted) before the store answered. */
export class StoreDeadlineError extends StorageError {
  constructor(message: string, cause?: unknown) {
    super('store-deadline', message, { cause });
  }
}
