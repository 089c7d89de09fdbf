/**
 * Record payloads, format version 1. Integers are little-endian; indexes and terms are u64 on
 * disk and must fit a JS safe integer when read.
 *
 *   entry      index u64 | term u64 | type u8 | data (rest of the payload)
 *   hardState  term u64  | vote u64 | commit u64
 *   snapshot   index u64 | term u64
 */
import { frameRecord, RECORD_HEADER_BYTES, RecordType } from './record.js';
import type { HardState, SnapshotMarker, WalEntry } from './types.js';

const TWO_32 = 2 ** 32;
const ENTRY_FIXED = 17;
const HARD_STATE_BYTES = 24;
const SNAPSHOT_BYTES = 16;

/** Thrown by decoders; the WAL turns it into a WalCorruptError with file and offset. */
export class PayloadError extends Error {
  readonly code = 'wal-payload';
}

function putU64(buf: Buffer, at: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`wal: ${n} is not a non-negative safe integer`);
  buf.writeUInt32LE(n % TWO_32, at);
  buf.writeUInt32LE(Math.floor(n / TWO_32), at + 4);
}

function getU64(buf: Buffer, at: number): number {
  const hi = buf.readUInt32LE(at + 4);
  if (hi > 0x1fffff) throw new PayloadError('integer beyond 2^53');
  return hi * TWO_32 + buf.readUInt32LE(at);
}

/** Bytes a batch will take on disk, so it can be encoded into one buffer. */
export function entryRecordBytes(e: WalEntry): number {
  return RECORD_HEADER_BYTES + ENTRY_FIXED + e.data.length;
}
export const HARD_STATE_RECORD_BYTES = RECORD_HEADER_BYTES + HARD_STATE_BYTES;
export const SNAPSHOT_RECORD_BYTES = RECORD_HEADER_BYTES + SNAPSHOT_BYTES;

export function writeEntry(buf: Buffer, at: number, e: WalEntry): number {
  const p = at + RECORD_HEADER_BYTES;
  putU64(buf, p, e.index);
  putU64(buf, p + 8, e.term);
  buf[p + 16] = e.type;
  buf.set(e.data, p + ENTRY_FIXED);
  const len = ENTRY_FIXED + e.data.length;
  frameRecord(buf, at, RecordType.entry, len);
  return at + RECORD_HEADER_BYTES + len;
}

export function writeHardState(buf: Buffer, at: number, hs: HardState): number {
  const p = at + RECORD_HEADER_BYTES;
  putU64(buf, p, hs.term);
  buf.writeBigUInt64LE(BigInt.asUintN(64, hs.vote), p + 8);
  putU64(buf, p + 16, hs.commit);
  frameRecord(buf, at, RecordType.hardState, HARD_STATE_BYTES);
  return at + HARD_STATE_RECORD_BYTES;
}

export function writeSnapshot(buf: Buffer, at: number, s: SnapshotMarker): number {
  const p = at + RECORD_HEADER_BYTES;
  putU64(buf, p, s.index);
  putU64(buf, p + 8, s.term);
  frameRecord(buf, at, RecordType.snapshot, SNAPSHOT_BYTES);
  return at + SNAPSHOT_RECORD_BYTES;
}

export function readEntry(p: Buffer): WalEntry {
  if (p.length < ENTRY_FIXED) throw new PayloadError(`entry payload of ${p.length} bytes`);
  return { index: getU64(p, 0), term: getU64(p, 8), type: p[16]!, data: p.subarray(ENTRY_FIXED) };
}

export function readHardState(p: Buffer): HardState {
  if (p.length !== HARD_STATE_BYTES) throw new PayloadError(`hard state payload of ${p.length} bytes`);
  return { term: getU64(p, 0), vote: p.readBigUInt64LE(8), commit: getU64(p, 16) };
}

export function readSnapshot(p: Buffer): SnapshotMarker {
  if (p.length !== SNAPSHOT_BYTES) throw new PayloadError(`snapshot payload of ${p.length} bytes`);
  return { index: getU64(p, 0), term: getU64(p, 8) };
}
