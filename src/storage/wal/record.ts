/**
 * Record framing. Every record is a 16-byte header and a payload:
 *
 *   0  u32 payload length      8  u32 CRC32C of the payload
 *   4  u8  record type        12  u32 CRC32C of header bytes 0..11
 *   5  3 reserved zero bytes
 *
 * The header has its own checksum so that a flipped length byte is caught as corruption
 * instead of looking like a record cut short by a crash (which recovery would silently cut).
 * All integers are little-endian.
 */
import { crc32c } from '@node-rs/crc32';

export const RECORD_HEADER_BYTES = 16;
/** Sanity bound on one record: a larger length with a valid header checksum is a bug. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export const RecordType = {
  entry: 1,
  hardState: 2,
  snapshot: 3,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const KNOWN_TYPES = new Set<number>(Object.values(RecordType));

/** Writes the header for the payload already at `buf[at+16 .. at+16+length)`. */
export function frameRecord(buf: Buffer, at: number, type: RecordType, length: number): void {
  buf.writeUInt32LE(length, at);
  buf[at + 4] = type;
  buf[at + 5] = 0;
  buf[at + 6] = 0;
  buf[at + 7] = 0;
  const payload = buf.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length);
  buf.writeUInt32LE(crc32c(payload), at + 8);
  buf.writeUInt32LE(crc32c(buf.subarray(at, at + 12)), at + 12);
}

export interface ScannedRecord {
  type: RecordType;
  /** Offset of the record header in the file. */
  offset: number;
  payload: Buffer;
}

/** Why scanning stopped before the end of the buffer. */
export interface ScanStop {
  offset: number;
  reason: string;
  /** True when the damage looks like a write torn by a crash rather than corruption of durable bytes. */
  torn: boolean;
  /** True when everything from `offset` to the end is zeros: space never written (or preallocated). */
  zeros?: boolean;
}

/** Disk sector size used to recognise zero-filled (never written) regions after power loss. */
const SECTOR_BYTES = 512;

function allZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * etcd's torn-entry rule: cut [from, to) at sector boundaries (file offsets); true when one of
 * the pieces is all zeros. A sector the crash kept from the disk reads as zeros, so a record
 * written over zero-filled headroom that was torn has such a piece, wherever it is cut.
 */
function hasZeroChunk(buf: Buffer, from: number, to: number): boolean {
  for (let s = from; s < to; ) {
    const next = Math.min(to, (Math.floor(s / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    if (allZero(buf, s, next)) return true;
    s = next;
  }
  return false;
}

/**
 * Scans records from `start` to the end of `buf`. Stops at the first record that fails a check
 * and says whether that failure is consistent with a torn write: a header or payload that runs
 * past the end of the file (an append cut short), a zero-filled remainder (headroom, or a file
 * extended but never written), or a checksum mismatch over a header or payload with a piece
 * that is all zeros (etcd's torn-entry rule). The last rule holds whatever follows the record:
 * a write over preallocated headroom may reach the disk out of order, a later sector of the
 * batch landing and an earlier one not, and none of that batch was acknowledged. Anything else
 * is corruption. Whether a torn stop may be repaired is the caller's decision (last segment
 * only, where the last write was).
 */
export function scanRecords(buf: Buffer, start: number): { records: ScannedRecord[]; stop?: ScanStop } {
  const records: ScannedRecord[] = [];
  const end = buf.length;
  let at = start;
  while (at < end) {
    if (end - at < RECORD_HEADER_BYTES)
      return { records, stop: { offset: at, reason: 'partial record header', torn: true } };
    const headerCrc = buf.readUInt32LE(at + 12);
    if (crc32c(buf.subarray(at, at + 12)) !== headerCrc) {
      if (allZero(buf, at, end))
        return { records, stop: { offset: at, reason: 'zero-filled tail', torn: true, zeros: true } };
      const torn = hasZeroChunk(buf, at, at + RECORD_HEADER_BYTES);
      return {
        records,
        stop: {
          offset: at,
          reason: torn ? 'torn record header (zero-filled sector)' : 'record header checksum mismatch',
          torn,
        },
      };
    }
    const length = buf.readUInt32LE(at);
    const type = buf[at + 4]!;
    if (buf[at + 5] !== 0 || buf[at + 6] !== 0 || buf[at + 7] !== 0)
      return { records, stop: { offset: at, reason: 'reserved header bytes are not zero', torn: false } };
    if (!KNOWN_TYPES.has(type))
      return { records, stop: { offset: at, reason: `unknown record type ${type}`, torn: false } };
    if (length > MAX_RECORD_BYTES)
      return { records, stop: { offset: at, reason: `record length ${length} too large`, torn: false } };
    const payloadEnd = at + RECORD_HEADER_BYTES + length;
    if (payloadEnd > end)
      return {
        records,
        stop: {
          offset: at,
          reason: `record cut short (${end - at} of ${payloadEnd - at} bytes)`,
          torn: true,
        },
      };
    const payload = buf.subarray(at + RECORD_HEADER_BYTES, payloadEnd);
    if (crc32c(payload) !== buf.readUInt32LE(at + 8)) {
      const torn = hasZeroChunk(buf, at + RECORD_HEADER_BYTES, payloadEnd);
      return {
        records,
        stop: {
          offset: at,
          reason: torn ? 'torn record (zero-filled sector)' : 'payload checksum mismatch',
          torn,
        },
      };
    }
    records.push({ type: type as RecordType, offset: at, payload });
    at = payloadEnd;
  }
  return { records };
}
