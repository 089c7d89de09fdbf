/** Checksum verification of a snapshot stream as it is read, and the hashing side of a save. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { SnapshotChecksumError } from '../errors.js';

/** Streams `source` through, failing at the end unless size and SHA-256 match. */
export function verifiedStream(
  id: string,
  expected: { size: number; sha256: string },
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Readable {
  async function* check() {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.length;
      if (size > expected.size)
        throw new SnapshotChecksumError(id, `more than the ${expected.size} bytes recorded`);
      yield chunk;
    }
    if (size !== expected.size)
      throw new SnapshotChecksumError(id, `${size} bytes read, ${expected.size} recorded`);
    const got = hash.digest('hex');
    if (got !== expected.sha256)
      throw new SnapshotChecksumError(id, `sha256 ${got}, recorded ${expected.sha256}`);
  }
  return Readable.from(check(), { objectMode: false, highWaterMark: 1 });
}

/** Re-chunks a source into pieces of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number) {
  let buf = Buffer.allocUnsafe(size);
  let used = 0;
  for await (const piece of source) {
    let at = 0;
    while (at < piece.length) {
      const n = Math.min(size - used, piece.length - at);
      buf.set(piece.subarray(at, at + n), used);
      used += n;
      at += n;
      if (used === size) {
        yield buf;
        buf = Buffer.allocUnsafe(size);
        used = 0;
      }
    }
  }
  if (used > 0) yield buf.subarray(0, used);
}
