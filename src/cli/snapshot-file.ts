/**
 * Reads a snapshot file saved by `etcdctl snapshot save` (or the SDK's maintenance.snapshot())
 * from a Concord member: Concord's snapshot data followed by its SHA-256, as etcd's stream ends.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { restoreSync, SnapshotFormatError } from '../mvcc/index.js';
import { rangeEndOf } from '../mvcc/kv/kv-store.js';
import { counted, type Progress } from './progress.js';

const SHA256_BYTES = 32;

export class SnapshotFileError extends Error {
  readonly code = 'snapshot-file';
  override name = 'SnapshotFileError';
}

/** What `etcdctl snapshot status` reports, with the same JSON field names. */
export interface SnapshotFileStatus {
  /** The keyspace hash at `revision`, as HashKV answers it for the member that saved it. */
  hash: number;
  revision: number;
  /** Keys with a value at `revision`. */
  totalKey: number;
  /** Bytes of snapshot data (the file without its SHA-256). */
  totalSize: number;
}

/** Makes the progress report of reading a file of `total` bytes (or none). */
export type ProgressFor = (total: number) => Progress | undefined;

async function readCounted(file: string, progressFor?: ProgressFor): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const chunks: Uint8Array[] = [];
    for await (const chunk of counted(fh.createReadStream({ autoClose: false }), progressFor?.(size)))
      chunks.push(chunk);
    return Buffer.concat(chunks);
  } finally {
    await fh.close();
  }
}

/**
 * The snapshot data of a saved file, once its trailing SHA-256 is checked. Throws SnapshotFileError.
 * `progressFor` reports the reading.
 */
export async function readSnapshotFile(
  file: string,
  progressFor?: ProgressFor,
): Promise<{ data: Buffer; sha256: string }> {
  const buf = await readCounted(file, progressFor).catch((e: NodeJS.ErrnoException) => {
    throw new SnapshotFileError(`cannot read ${file}: ${e.message}`);
  });
  if (buf.length <= SHA256_BYTES)
    throw new SnapshotFileError(
      `${file}: too short (${buf.length} bytes) to hold a snapshot and its SHA-256`,
    );
  const data = buf.subarray(0, buf.length - SHA256_BYTES);
  const want = buf.subarray(data.length);
  const got = createHash('sha256').update(data).digest();
  if (!got.equals(want))
    throw new SnapshotFileError(
      `${file}: SHA-256 mismatch, the file is corrupted or truncated (trailer ${want.toString('hex')}, data hashes to ${got.toString('hex')})`,
    );
  return { data, sha256: got.toString('hex') };
}

function stateOf(file: string, data: Buffer): ReturnType<typeof restoreSync> {
  try {
    return restoreSync([data]);
  } catch (e) {
    throw notConcordSnapshot(file, e);
  }
}

/** A file that is no Concord snapshot (an etcd bbolt file, say) is a SnapshotFileError; other errors pass. */
export function notConcordSnapshot(file: string, e: unknown): unknown {
  if (!(e instanceof SnapshotFormatError)) return e;
  return new SnapshotFileError(
    `${file}: not a Concord snapshot (${e.message.replace(/^.*bad snapshot: /, '')}); a file saved from etcd is a bbolt database: read it with etcdctl snapshot status`,
  );
}

/** Checks the trailing SHA-256, then restores the data in memory. Throws SnapshotFileError. */
export async function snapshotFileStatus(
  file: string,
  progressFor?: ProgressFor,
): Promise<SnapshotFileStatus> {
  const { data } = await readSnapshotFile(file, progressFor);
  const sm = stateOf(file, data);
  const revision = sm.kv.currentRev;
  return {
    hash: sm.hashKV(0).hash,
    revision,
    totalKey: sm.kv.range('\0', rangeEndOf('\0'), revision, 0, true).count,
    totalSize: data.length,
  };
}
