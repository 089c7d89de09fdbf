/**
 * The file snapshot store (the default, `<data-dir>/snap`). One file per snapshot, named
 * `<cluster>-<member>-<term>-<index>.snap` (16 hex digits each):
 *
 *   header   magic `CONCSNAP` | format version u32 | metadata length u32 | metadata JSON
 *   data     the snapshot bytes
 *   trailer  data size u64 | SHA-256 (32 bytes) | magic `CONCSEND`
 *
 * A save streams into a temporary file, fsyncs it, renames it into place and fsyncs the
 * directory, so a crash leaves either the whole snapshot or none. Reads verify size and SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { SnapshotFormatError, SnapshotNotFoundError, StoreDeadlineError } from '../errors.js';
import { fsyncDir } from '../fsync-dir.js';
import {
  beyondRetention,
  hexId,
  matches,
  newestFirst,
  type SnapshotFilter,
  type SnapshotInfo,
  type SnapshotMeta,
  type SnapshotSource,
  type SnapshotStore,
  type StoreCallOptions,
} from './types.js';
import { verifiedStream } from './verify.js';

export const SNAPSHOT_FILE_VERSION = 1;
const MAGIC = Buffer.from('CONCSNAP', 'latin1');
const END_MAGIC = Buffer.from('CONCSEND', 'latin1');
const TRAILER_BYTES = 8 + 32 + 8;
const NAME = /^[0-9a-f]{16}-[0-9a-f]{16}-[0-9a-f]{16}-[0-9a-f]{16}\.snap$/;
/** Read size for streaming a snapshot out. */
export const SNAPSHOT_READ_CHUNK_BYTES = 1024 * 1024;

interface FileMeta {
  clusterId: string;
  memberId: string;
  term: number;
  index: number;
  membership: string;
  createdAt: string;
}

export class FileSnapshotStore implements SnapshotStore {
  readonly kind = 'file';
  readonly dir: string;

  constructor(dir: string) {
    if (typeof dir !== 'string' || dir === '')
      throw new TypeError(`file snapshot store: bad directory ${JSON.stringify(dir)}`);
    this.dir = dir;
  }

  async save(info: SnapshotInfo, data: SnapshotSource, opts?: StoreCallOptions): Promise<SnapshotMeta> {
    await mkdir(this.dir, { recursive: true });
    const id = `${hexId(info.clusterId)}-${hexId(info.memberId)}-${hexId(BigInt(info.term))}-${hexId(BigInt(info.index))}.snap`;
    const tmp = path.join(this.dir, `.${id}.${randomBytes(4).toString('hex')}.tmp`);
    const createdAt = new Date();
    const meta: FileMeta = {
      clusterId: hexId(info.clusterId),
      memberId: hexId(info.memberId),
      term: info.term,
      index: info.index,
      membership: Buffer.from(info.membership).toString('base64'),
      createdAt: createdAt.toISOString(),
    };
    const json = Buffer.from(JSON.stringify(meta));
    const head = Buffer.alloc(16);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(SNAPSHOT_FILE_VERSION, 8);
    head.writeUInt32LE(json.length, 12);
    const fh = await open(tmp, 'wx');
    let pos = 0;
    const write = async (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) {
        const { bytesWritten } = await fh.write(b, done, b.length - done, pos + done);
        done += bytesWritten;
      }
      pos += b.length;
    };
    try {
      await write(head);
      await write(json);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of data) {
        if (opts?.signal?.aborted)
          throw new StoreDeadlineError('file snapshot store: save aborted', opts.signal.reason);
        hash.update(chunk);
        size += chunk.length;
        await write(chunk);
      }
      const digest = hash.digest();
      const trailer = Buffer.alloc(TRAILER_BYTES);
      trailer.writeBigUInt64LE(BigInt(size), 0);
      digest.copy(trailer, 8);
      END_MAGIC.copy(trailer, 40);
      await write(trailer);
      await fh.sync();
      await fh.close();
      await rename(tmp, path.join(this.dir, id));
      await fsyncDir(this.dir);
      return { ...info, id, size, sha256: digest.toString('hex'), createdAt };
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async list(filter?: SnapshotFilter): Promise<SnapshotMeta[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: SnapshotMeta[] = [];
    for (const n of names) {
      if (!NAME.test(n)) continue;
      const m = await this.stat(n);
      if (matches(m, filter)) out.push(m);
    }
    return out.sort(newestFirst);
  }

  async latest(filter?: SnapshotFilter): Promise<SnapshotMeta | undefined> {
    return (await this.list(filter))[0];
  }

  async stat(id: string): Promise<SnapshotMeta> {
    const { meta } = await this.#read(id);
    return meta;
  }

  async open(id: string, opts?: StoreCallOptions): Promise<Readable> {
    const { meta, dataStart } = await this.#read(id);
    // An empty snapshot has no range to read (createReadStream's end is inclusive).
    if (meta.size === 0) return verifiedStream(id, meta, []);
    const source = createReadStream(this.#path(id), {
      start: dataStart,
      end: dataStart + meta.size - 1,
      highWaterMark: SNAPSHOT_READ_CHUNK_BYTES,
      signal: opts?.signal,
    });
    return verifiedStream(id, meta, source);
  }

  async delete(id: string): Promise<void> {
    await this.stat(id);
    await rm(this.#path(id), { force: true });
    await fsyncDir(this.dir);
  }

  async retain(keep: number, filter?: SnapshotFilter): Promise<SnapshotMeta[]> {
    const gone = beyondRetention(await this.list(filter), keep);
    for (const m of gone) await rm(this.#path(m.id), { force: true });
    if (gone.length > 0) await fsyncDir(this.dir);
    return gone;
  }

  async close(): Promise<void> {}

  #path(id: string): string {
    if (!NAME.test(id)) throw new SnapshotNotFoundError(id);
    return path.join(this.dir, id);
  }

  /** Reads header and trailer; the data is left on disk. */
  async #read(id: string): Promise<{ meta: SnapshotMeta; dataStart: number }> {
    const file = this.#path(id);
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SnapshotNotFoundError(id);
      throw err;
    }
    try {
      const { size: fileSize, mtime } = await stat(file);
      const head = Buffer.alloc(16);
      await fh.read(head, 0, 16, 0);
      if (!head.subarray(0, 8).equals(MAGIC))
        throw new SnapshotFormatError(`${file}: not a concord snapshot`);
      const version = head.readUInt32LE(8);
      if (version > SNAPSHOT_FILE_VERSION)
        throw new SnapshotFormatError(
          `${file}: snapshot format version ${version}, this build reads up to ${SNAPSHOT_FILE_VERSION}`,
        );
      const jsonLen = head.readUInt32LE(12);
      const dataStart = 16 + jsonLen;
      if (fileSize < dataStart + TRAILER_BYTES)
        throw new SnapshotFormatError(`${file}: truncated snapshot file`);
      const json = Buffer.alloc(jsonLen);
      await fh.read(json, 0, jsonLen, 16);
      const trailer = Buffer.alloc(TRAILER_BYTES);
      await fh.read(trailer, 0, TRAILER_BYTES, fileSize - TRAILER_BYTES);
      if (!trailer.subarray(40).equals(END_MAGIC))
        throw new SnapshotFormatError(`${file}: truncated snapshot file`);
      const size = Number(trailer.readBigUInt64LE(0));
      if (dataStart + size + TRAILER_BYTES !== fileSize)
        throw new SnapshotFormatError(
          `${file}: size ${size} recorded, file holds ${fileSize - dataStart - TRAILER_BYTES}`,
        );
      const m = JSON.parse(json.toString()) as FileMeta;
      return {
        dataStart,
        meta: {
          id,
          clusterId: BigInt(`0x${m.clusterId}`),
          memberId: BigInt(`0x${m.memberId}`),
          term: m.term,
          index: m.index,
          membership: new Uint8Array(Buffer.from(m.membership, 'base64')),
          size,
          sha256: trailer.subarray(8, 40).toString('hex'),
          createdAt: Number.isNaN(Date.parse(m.createdAt)) ? mtime : new Date(m.createdAt),
        },
      };
    } finally {
      await fh.close();
    }
  }
}
