/**
 * The write-ahead log: Raft entries, hard state and snapshot markers, made durable before the
 * host acts on them (etcd-io/raft's contract: persist, then send, then apply, then advance).
 *
 *   const wal = await Wal.open(path.join(dataDir, 'wal'));
 *   const { hardState, snapshot, entries } = wal.readAll();   // what survived the last run
 *   await wal.save(ready.hardState, ready.entries);            // durable when it resolves
 *   await wal.saveSnapshot({ index, term }); await wal.releaseTo(index);
 *
 * Group commit: `save` encodes its records at once (so records keep call order) and queues
 * them; one writer loop takes everything queued, writes it with one synchronous write (the
 * segment is open with O_DSYNC: the write returns once the data is durable, as write plus
 * fdatasync would, in one threadpool round trip instead of two), and resolves every caller in
 * the batch. Callers that arrive while a batch is in flight form the next batch, so the fsync
 * rate stays bounded however many callers there are.
 *
 * Segments rotate at `segmentBytes`; each new segment starts with the current hard state and
 * snapshot marker so older segments can be released without losing them.
 *
 * Headroom: a write that would grow the file carries up to `HEADROOM_BYTES` of zeros after its
 * records, so the writes after it overwrite space the file already has. An O_DSYNC write that
 * changes the file's size also has to commit that size (a journal commit on ext4): a 600-byte
 * append took 230-245 us at p50 here, an overwrite 165-188 us, and the p90 halved. Only the
 * last segment carries headroom: a rotation, and a close, cut it off (durably) first.
 * Recovery reads a zero-filled tail of the last segment as headroom, not as a torn write.
 *
 * A failed write or fsync poisons the WAL: every pending and later call rejects with
 * WalClosedError (after a failed fsync the page cache state is unknown; etcd panics here).
 */

import { constants, write } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { FAILPOINTS, failpoint, mutated } from '../../failpoints.js';
import { defaultLogger } from '../../log.js';
import { WalClosedError, WalCorruptError } from '../errors.js';
import { fsyncDir } from '../fsync-dir.js';
import {
  entryRecordBytes,
  HARD_STATE_RECORD_BYTES,
  SNAPSHOT_RECORD_BYTES,
  writeEntry,
  writeHardState,
  writeSnapshot,
} from './codec.js';
import { scanRecords } from './record.js';
import { Replay, ReplayError } from './replay.js';
import {
  checkSegmentHeader,
  parseSegmentName,
  SEGMENT_HEADER_BYTES,
  type SegmentName,
  segmentFileName,
  segmentHeader,
  TEMP_SUFFIX,
} from './segment.js';
import type { HardState, SnapshotMarker, TornTail, WalContents, WalEntry } from './types.js';

/**
 * How a segment is opened for appending: every write is durable when it returns (data and the
 * file size, as fdatasync makes them), so a batch costs one threadpool call, not a write and a
 * sync.
 */
const APPEND_FLAGS = constants.O_RDWR | constants.O_DSYNC;

/** Test builds only (see src/failpoints.ts): the batch is acknowledged before it is written. */
const ACK_BEFORE_FSYNC = mutated('ack-before-fsync');

/** Default size at which a segment is closed and a new one started (etcd uses 64 MB too). */
export const WAL_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Zeros written ahead of the records when a write would grow the last segment (see the top). */
export const HEADROOM_BYTES = 1024 * 1024;
/** One shared zero-filled buffer of HEADROOM_BYTES, never written to (allocated on first use). */
let zeros: Buffer | undefined;

export interface WalOptions {
  /** Rotate to a new segment once the current one reaches this many bytes. Default WAL_SEGMENT_BYTES. */
  segmentBytes?: number;
  /** Told what recovery cut from a torn tail (it is also in `wal.recovery`). Default: the process's logger. */
  onTornTail?: (torn: TornTail) => void;
}

export interface WalStats {
  /** `save`/`saveSnapshot` calls that completed. */
  appends: number;
  /** Write + fdatasync rounds (one per batch). */
  fsyncs: number;
  bytes: number;
  segments: number;
}

/** State as of some point in the record stream; a new segment starts with it. */
interface StreamState {
  lastIndex: number;
  hardState: HardState | undefined;
  snapshot: SnapshotMarker | undefined;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Wal {
  readonly dir: string;
  /** What recovery found: a cut torn tail, if any. */
  readonly recovery: { tornTail: TornTail | undefined };
  readonly #segmentBytes: number;
  /** Zeros a growing write carries: HEADROOM_BYTES, or a whole segment if segments are smaller. */
  readonly #headroom: number;
  readonly #contents: WalContents;
  #segments: SegmentName[];
  #fh: FileHandle;
  /** Where the next record goes: the end of the last record. */
  #size: number;
  /** The file's length: `#size` plus zero-filled headroom. */
  #allocated: number;
  /** State after every record encoded so far (including queued ones). */
  #encoded: StreamState;
  /** State after every record written and synced. */
  #durable: StreamState;
  #queue: Buffer[] = [];
  #waiters: Waiter[] = [];
  #writing = false;
  #failed: WalClosedError | undefined;
  #idle: Promise<void> = Promise.resolve();
  #stats = { appends: 0, fsyncs: 0, bytes: 0 };

  private constructor(
    dir: string,
    opts: { segmentBytes: number },
    init: {
      segments: SegmentName[];
      fh: FileHandle;
      size: number;
      allocated: number;
      state: StreamState;
      contents: WalContents;
      tornTail: TornTail | undefined;
    },
  ) {
    this.dir = dir;
    this.#segmentBytes = opts.segmentBytes;
    this.#headroom = Math.min(HEADROOM_BYTES, opts.segmentBytes);
    this.#segments = init.segments;
    this.#fh = init.fh;
    this.#size = init.size;
    this.#allocated = init.allocated;
    this.#encoded = { ...init.state };
    this.#durable = { ...init.state };
    this.#contents = init.contents;
    this.recovery = { tornTail: init.tornTail };
  }

  /**
   * Opens (creating if needed) the WAL in `dir` and recovers it. Throws WalCorruptError (file
   * and offset in the message) for damage anywhere but the torn tail of the last segment, and
   * WalVersionError for segments from a newer format.
   */
  static async open(dir: string, opts: WalOptions = {}): Promise<Wal> {
    const segmentBytes = opts.segmentBytes ?? WAL_SEGMENT_BYTES;
    if (!Number.isInteger(segmentBytes) || segmentBytes < 1024)
      throw new RangeError(`wal: segmentBytes must be an integer ≥ 1024, got ${String(opts.segmentBytes)}`);
    await mkdir(dir, { recursive: true });
    const names: SegmentName[] = [];
    for (const f of await readdir(dir)) {
      // A segment still under its temporary name was never made visible: it holds nothing.
      if (f.endsWith(TEMP_SUFFIX)) await rm(path.join(dir, f), { force: true });
      const n = parseSegmentName(f);
      if (n) names.push(n);
    }
    names.sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < names.length; i++)
      if (names[i]!.seq !== names[i - 1]!.seq + 1)
        throw new WalCorruptError(
          path.join(dir, names[i]!.file),
          0,
          `segment sequence gap: expected seq ${names[i - 1]!.seq + 1}`,
        );

    const replay = new Replay();
    let tornTail: TornTail | undefined;
    let lastEnd = 0;
    let allocated = 0;
    for (let i = 0; i < names.length; i++) {
      const file = path.join(dir, names[i]!.file);
      const buf = await readFile(file);
      checkSegmentHeader(buf, file);
      const { records, stop } = scanRecords(buf, SEGMENT_HEADER_BYTES);
      const isLast = i === names.length - 1;
      if (stop && !(isLast && stop.torn)) throw new WalCorruptError(file, stop.offset, stop.reason);
      for (const r of records) {
        try {
          replay.apply(r);
        } catch (err) {
          if (err instanceof ReplayError) throw new WalCorruptError(file, err.offset, err.message);
          throw err;
        }
      }
      lastEnd = stop ? stop.offset : buf.length;
      // The last segment's zero-filled tail is its headroom (or, after a crash, an append whose
      // bytes never reached the disk: nothing of it was acknowledged). The next write goes there.
      const headroom = isLast && stop?.zeros === true;
      allocated = headroom ? buf.length : lastEnd;
      if (stop && !headroom) {
        tornTail = { file, offset: stop.offset, bytes: buf.length - stop.offset, reason: stop.reason };
        const fh = await open(file, 'r+');
        try {
          await fh.truncate(stop.offset);
          await fh.sync();
        } finally {
          await fh.close();
        }
        (opts.onTornTail ?? warnTorn)(tornTail);
      }
    }
    let contents: WalContents;
    try {
      contents = replay.contents();
    } catch (err) {
      if (err instanceof ReplayError) throw new WalCorruptError(dir, 0, err.message);
      throw err;
    }
    const state: StreamState = {
      lastIndex: replay.lastIndex,
      hardState: replay.hardState,
      snapshot: replay.snapshot,
    };
    let fh: FileHandle;
    if (names.length === 0) {
      const created = await createSegment(dir, 0, state);
      names.push(created.name);
      fh = created.fh;
      lastEnd = created.size;
      allocated = created.size;
    } else {
      fh = await open(path.join(dir, names[names.length - 1]!.file), APPEND_FLAGS);
    }
    return new Wal(
      dir,
      { segmentBytes },
      { segments: names, fh, size: lastEnd, allocated, state, contents, tornTail },
    );
  }

  /** The log as recovered at open. */
  readAll(): WalContents {
    return this.#contents;
  }

  /**
   * Appends `entries` and then `hardState` (either may be empty/undefined). An entry at an index
   * at or below the last saved one replaces that suffix of the log. Resolves once durable.
   */
  save(hardState: HardState | undefined, entries: readonly WalEntry[] = []): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    let bytes = hardState ? HARD_STATE_RECORD_BYTES : 0;
    for (const e of entries) bytes += entryRecordBytes(e);
    if (bytes === 0) return Promise.resolve();
    const buf = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const e of entries) at = writeEntry(buf, at, e);
    if (hardState) writeHardState(buf, at, hardState);
    if (entries.length > 0) this.#encoded.lastIndex = entries[entries.length - 1]!.index;
    if (hardState) this.#encoded.hardState = { ...hardState };
    return this.#enqueue(buf);
  }

  /** Records that a snapshot at (index, term) exists, so replay can start after it. */
  saveSnapshot(marker: SnapshotMarker): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    const buf = Buffer.allocUnsafe(SNAPSHOT_RECORD_BYTES);
    writeSnapshot(buf, 0, marker);
    this.#encoded.snapshot = { ...marker };
    if (marker.index > this.#encoded.lastIndex) this.#encoded.lastIndex = marker.index;
    return this.#enqueue(buf);
  }

  /**
   * Deletes segments whose entries are all at or below `index`, bounded by the durable
   * snapshot marker (entries behind no snapshot are never released). Returns how many went.
   */
  async releaseTo(index: number): Promise<number> {
    const bound = Math.min(index, this.#durable.snapshot?.index ?? 0);
    const segs = this.#segments;
    let n = 0;
    // Segment i may go when segment i+1 starts at or below bound+1; the last segment stays.
    while (n + 1 < segs.length && segs[n + 1]!.startIndex <= bound + 1) n++;
    if (n === 0) return 0;
    const gone = segs.splice(0, n);
    for (const s of gone) await unlink(path.join(this.dir, s.file));
    await fsyncDir(this.dir);
    return n;
  }

  stats(): WalStats {
    return { ...this.#stats, segments: this.#segments.length };
  }

  /** Waits for queued writes, then closes the file. Later calls reject with WalClosedError. */
  async close(): Promise<void> {
    if (!this.#failed) this.#failed = new WalClosedError();
    await this.#idle;
    // A close leaves the segment as long as its records. After a failed write too: nothing past
    // `#size` was acknowledged, and a trim that fails as well leaves only what recovery reads.
    await this.#trimHeadroom().catch(() => {});
    await this.#fh.close().catch(() => {});
  }

  /** Cuts the last segment back to its records, durably. */
  async #trimHeadroom(): Promise<void> {
    if (this.#allocated <= this.#size) return;
    await this.#fh.truncate(this.#size);
    await this.#fh.sync();
    this.#allocated = this.#size;
  }

  #enqueue(buf: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push(buf);
      this.#waiters.push({ resolve, reject });
      if (!this.#writing) {
        this.#writing = true;
        // Start on a microtask so every save issued in this synchronous turn joins the batch.
        this.#idle = Promise.resolve().then(() => this.#writeLoop());
      }
    });
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const bufs = this.#queue;
        const waiters = this.#waiters;
        this.#queue = [];
        this.#waiters = [];
        const after: StreamState = { ...this.#encoded };
        try {
          if (this.#size >= this.#segmentBytes) await this.#rotate();
          const records = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
          // A write past the file's end takes its next headroom with it: one write, one sync.
          const grows = this.#size + records.length > this.#allocated;
          zeros ??= Buffer.alloc(HEADROOM_BYTES);
          const data = grows ? Buffer.concat([records, zeros.subarray(0, this.#headroom)]) : records;
          if (ACK_BEFORE_FSYNC) {
            // The bug: acknowledge, then write and sync in the background. The write waits as a
            // slow disk would (100 ms), so the acknowledgement has surely reached the leader when
            // a power loss takes the batch: with 10 ms the ack was often lost with the process
            // on a loaded machine, and the fault suite saw nothing to catch.
            for (const w of waiters) w.resolve();
            await new Promise((r) => setTimeout(r, 100));
          }
          // A crash before the synchronous write is a power loss between write and sync: none
          // of the batch is durable.
          if (FAILPOINTS) failpoint('wal-before-fsync');
          await writeFully(this.#fh.fd, data, this.#size);
          if (FAILPOINTS) failpoint('wal-after-fsync');
          this.#size += records.length;
          if (grows) this.#allocated = this.#size + this.#headroom;
          this.#durable = after;
          this.#stats.fsyncs++;
          this.#stats.appends += waiters.length;
          this.#stats.bytes += records.length;
        } catch (err) {
          this.#failed = new WalClosedError(
            `wal: write failed, refusing further writes: ${String(err)}`,
            err,
          );
          for (const w of waiters) w.reject(this.#failed);
          for (const w of this.#waiters) w.reject(this.#failed);
          this.#queue = [];
          this.#waiters = [];
          return;
        }
        for (const w of waiters) w.resolve();
      }
    } finally {
      this.#writing = false;
    }
  }

  async #rotate(): Promise<void> {
    // Before the new segment exists: a segment that is not the last never ends in zeros.
    await this.#trimHeadroom();
    const prev = this.#segments[this.#segments.length - 1]!;
    const created = await createSegment(this.dir, prev.seq + 1, this.#durable);
    const old = this.#fh;
    this.#fh = created.fh;
    this.#size = created.size;
    this.#allocated = created.size;
    this.#segments.push(created.name);
    await old.close();
  }
}

/** Writes a new segment under a temporary name, syncs it, renames it and syncs the directory. */
async function createSegment(
  dir: string,
  seq: number,
  state: StreamState,
): Promise<{ name: SegmentName; fh: FileHandle; size: number }> {
  const file = segmentFileName(seq, state.lastIndex + 1);
  const tmp = path.join(dir, file + TEMP_SUFFIX);
  let size = SEGMENT_HEADER_BYTES;
  if (state.hardState) size += HARD_STATE_RECORD_BYTES;
  if (state.snapshot) size += SNAPSHOT_RECORD_BYTES;
  const buf = Buffer.alloc(size);
  segmentHeader().copy(buf, 0);
  let at = SEGMENT_HEADER_BYTES;
  if (state.snapshot) at = writeSnapshot(buf, at, state.snapshot);
  if (state.hardState) at = writeHardState(buf, at, state.hardState);
  const fh = await open(tmp, APPEND_FLAGS | constants.O_CREAT | constants.O_TRUNC);
  try {
    await writeFully(fh.fd, buf, 0);
    await fh.sync();
    await rename(tmp, path.join(dir, file));
    await fsyncDir(dir);
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
  return { name: { seq, startIndex: state.lastIndex + 1, file }, fh, size };
}

/** On the threadpool, through fs.write: its callback came back 10-20% sooner than FileHandle.write's promise. */
async function writeFully(fd: number, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    done += await new Promise<number>((resolve, reject) =>
      write(fd, data, done, data.length - done, position + done, (err, n) =>
        err ? reject(err) : resolve(n),
      ),
    );
  }
}

function warnTorn(t: TornTail): void {
  defaultLogger().warn(
    `wal: cut a torn tail of ${t.bytes} bytes from ${t.file} at offset ${t.offset} (${t.reason})`,
    { file: t.file, offset: t.offset, bytes: t.bytes },
  );
}
