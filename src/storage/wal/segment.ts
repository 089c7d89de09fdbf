/**
 * Segment files: `<seq>-<startIndex>.wal`, both 16 hex digits. `startIndex` is the index the
 * first entry written to the segment was expected to have (last index + 1 at creation), so
 * every live entry of segment k is below the start index of segment k+1: that is what lets
 * `releaseTo` drop whole segments from names alone.
 *
 * Each segment begins with a 16-byte file header: magic `CONCWAL\0`, format version (u32),
 * CRC32C of the first 12 bytes (u32). A segment is written whole under a temporary name,
 * fsynced and renamed, so a crash never leaves a segment with a torn header.
 */
import { crc32c } from '@node-rs/crc32';
import { WalCorruptError, WalVersionError } from '../errors.js';

export const WAL_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 16;
const MAGIC = Buffer.from('CONCWAL\0', 'latin1');
const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
export const TEMP_SUFFIX = '.tmp';

export interface SegmentName {
  seq: number;
  startIndex: number;
  file: string;
}

export function segmentFileName(seq: number, startIndex: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${startIndex.toString(16).padStart(16, '0')}.wal`;
}

export function parseSegmentName(file: string): SegmentName | undefined {
  const m = NAME.exec(file);
  if (!m) return undefined;
  return { seq: Number.parseInt(m[1]!, 16), startIndex: Number.parseInt(m[2]!, 16), file };
}

export function segmentHeader(): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(WAL_FORMAT_VERSION, 8);
  b.writeUInt32LE(crc32c(b.subarray(0, 12)), 12);
  return b;
}

/** Checks a segment's file header; `path` is used in error messages. */
export function checkSegmentHeader(buf: Buffer, path: string): void {
  if (buf.length < SEGMENT_HEADER_BYTES)
    throw new WalCorruptError(path, 0, 'segment shorter than its header');
  if (!buf.subarray(0, 8).equals(MAGIC))
    throw new WalCorruptError(path, 0, 'not a concord WAL segment (bad magic)');
  if (crc32c(buf.subarray(0, 12)) !== buf.readUInt32LE(12))
    throw new WalCorruptError(path, 0, 'segment header checksum mismatch');
  const version = buf.readUInt32LE(8);
  if (version > WAL_FORMAT_VERSION) throw new WalVersionError(path, version, WAL_FORMAT_VERSION);
  if (version < 1) throw new WalCorruptError(path, 8, `segment format version ${version}`);
}
