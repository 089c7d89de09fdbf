/**
 * Snapshot of the whole state machine — keyspace (every stored revision), leases, alarms, the
 * auth store, the ID generator and the applied index — as a stream of chunks, and its restore.
 *
 * Memory stays bounded on both sides: the writer walks an O(1) copy-on-write clone of the key
 * index taken when snapshot() is called (later applies do not show up in it), and emits
 * chunks of about SNAPSHOT_CHUNK_BYTES; the reader parses record by record as chunks arrive.
 *
 * Format: "CNCDSNP2" ("CNCDSNP1", written before auth existed, restores with auth off and
 * empty), then records [type u8][length u32][payload], the last one 'E' carrying
 * the CRC32C of everything before it; an optional 'P' record of zeros before it pads the stream to
 * an alignment. Version 2 adds the 'U' record (the auth store as JSON, after the header).
 * Numbers are big-endian; revisions are float64 (exact up
 * to 2^53), lease IDs int64.
 */
import { crc32c } from '@node-rs/crc32';
import { SnapshotFormatError } from './errors.js';
import type { Rev } from './kv/key-index.js';
import { Rev as RevClass } from './kv/key-index.js';
import { revBytes } from './kv/kv-store.js';
import { Lease } from './lease/lessor.js';
import { StateMachine, type StateMachineOptions } from './state-machine.js';

export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;
const MAGIC = Buffer.from('CNCDSNP2', 'latin1');
/** Snapshots of builds before auth: same records, no 'U'. */
const MAGIC_V1 = Buffer.from('CNCDSNP1', 'latin1');
const T_META = 0x4d; // M
const T_LEASE = 0x4c; // L
const T_ALARM = 0x41; // A
const T_AUTH = 0x55; // U
const T_KEY = 0x4b; // K
const T_END = 0x45; // E
// Filler, so a stream can end on a boundary (etcdctl wants sector-aligned data); ignored on restore.
const T_PAD = 0x50; // P
const END_BYTES = 9;

class ChunkWriter {
  buf = Buffer.allocUnsafe(SNAPSHOT_CHUNK_BYTES);
  n = 0;
  crc = 0;
  /** Bytes flushed so far. */
  flushed = 0;
  readonly out: Uint8Array[] = [];

  /** Starts a record of at most `max` payload bytes; returns the offset of its length field. */
  begin(type: number, max: number): number {
    this.ensure(5 + max);
    this.buf[this.n++] = type;
    const at = this.n;
    this.n += 4;
    return at;
  }

  finish(lenAt: number): void {
    this.buf.writeUInt32BE(this.n - lenAt - 4, lenAt);
  }

  ensure(bytes: number): void {
    if (this.n + bytes <= this.buf.length) return;
    this.flush();
    if (bytes > this.buf.length) this.buf = Buffer.allocUnsafe(bytes);
  }

  flush(): void {
    if (this.n === 0) return;
    const chunk = Buffer.from(this.buf.subarray(0, this.n));
    this.crc = crc32c(chunk, this.crc);
    this.out.push(chunk);
    this.flushed += chunk.length;
    this.buf = Buffer.allocUnsafe(SNAPSHOT_CHUNK_BYTES);
    this.n = 0;
  }
}

/**
 * The compact revision as the header stores it. Builds before compactions at revision 0 were
 * accepted wrote 0 for "never compacted" (now -1, etcd's compactMainRev); they still read what
 * this writes: never → 0, compacted at 0 → -0 (equal to 0 for them), else the revision.
 */
function compactRevOnDisk(rev: number): number {
  return rev < 0 ? 0 : rev === 0 ? -0 : rev;
}

function compactRevFromDisk(v: number): number {
  return v === 0 && !Object.is(v, -0) ? -1 : v === 0 ? 0 : v;
}

export interface SnapshotOptions {
  /** Pad the stream so its total length is a multiple of this many bytes. */
  alignTo?: number;
}

/**
 * The state as of this call, as an iterable of chunks. Iterate it once; apply may continue
 * meanwhile.
 */
export function snapshot(sm: StateMachine, options: SnapshotOptions = {}): Iterable<Uint8Array> {
  const align = options.alignTo ?? 0;
  const kv = sm.kv;
  const index = kv.index.snapshotView();
  const meta = {
    appliedIndex: sm.appliedIndex,
    currentRev: kv.currentRev,
    compactRev: kv.compactRev,
    idSeq: sm.lessor.idSeq,
  };
  const leases = [...sm.lessor.leases.values()].map((l) => [l.id, l.ttl, l.remainingTTL] as const);
  const alarms = sm.alarms.list();
  const auth = Buffer.from(JSON.stringify(sm.auth.toJSON()), 'utf8');
  const upTo = kv.currentRev;
  return {
    *[Symbol.iterator]() {
      const w = new ChunkWriter();
      w.ensure(MAGIC.length);
      w.n += MAGIC.copy(w.buf, w.n);
      let at = w.begin(T_META, 32);
      w.n = w.buf.writeDoubleBE(meta.appliedIndex, w.n);
      w.n = w.buf.writeDoubleBE(meta.currentRev, w.n);
      w.n = w.buf.writeDoubleBE(compactRevOnDisk(meta.compactRev), w.n);
      w.n = w.buf.writeBigUInt64BE(meta.idSeq, w.n);
      w.finish(at);
      at = w.begin(T_AUTH, auth.length);
      w.n += auth.copy(w.buf, w.n);
      w.finish(at);
      for (const [id, ttl, rem] of leases) {
        at = w.begin(T_LEASE, 24);
        w.n = w.buf.writeBigInt64BE(id, w.n);
        w.n = w.buf.writeDoubleBE(ttl, w.n);
        w.n = w.buf.writeDoubleBE(rem, w.n);
        w.finish(at);
      }
      for (const a of alarms) {
        at = w.begin(T_ALARM, 12);
        w.n = w.buf.writeBigUInt64BE(a.memberID, w.n);
        w.n = w.buf.writeInt32BE(a.alarm, w.n);
        w.finish(at);
      }
      for (const [key, revs] of index.entries()) {
        let max = 8 + key.length;
        let count = 0;
        for (const r of revs) {
          if (r.main > upTo) break;
          max += 41 + r.value.length;
          count++;
        }
        if (count === 0) continue;
        at = w.begin(T_KEY, max);
        w.n = w.buf.writeUInt32BE(key.length, w.n);
        w.n += w.buf.write(key, w.n, 'latin1');
        w.n = w.buf.writeUInt32BE(count, w.n);
        for (let i = 0; i < count; i++) {
          const r = revs[i]!;
          w.n = w.buf.writeDoubleBE(r.main, w.n);
          w.n = w.buf.writeUInt32BE(r.sub, w.n);
          w.n = w.buf.writeUInt8(r.tomb ? 1 : 0, w.n);
          w.n = w.buf.writeDoubleBE(r.create, w.n);
          w.n = w.buf.writeDoubleBE(r.version, w.n);
          w.n = w.buf.writeBigInt64BE(r.lease, w.n);
          w.n = w.buf.writeUInt32BE(r.value.length, w.n);
          w.n += w.buf.write(r.value, w.n, 'latin1');
        }
        w.finish(at);
        if (w.out.length > 0) yield* w.out.splice(0);
      }
      if (align > 0) {
        // A pad record is at least its 5-byte header, so the filler may wrap to the next boundary.
        const used = (w.flushed + w.n + 5 + END_BYTES) % align;
        const fill = used === 0 ? 0 : align - used;
        at = w.begin(T_PAD, fill);
        w.buf.fill(0, w.n, w.n + fill);
        w.n += fill;
        w.finish(at);
      }
      w.flush();
      // The checksum covers every byte before the end record.
      const end = Buffer.allocUnsafe(END_BYTES);
      end[0] = T_END;
      end.writeUInt32BE(4, 1);
      end.writeUInt32BE(w.crc >>> 0, 5);
      w.out.push(end);
      yield* w.out.splice(0);
    },
  };
}

/** Rebuilds a state machine from snapshot chunks (sync or async). Throws SnapshotFormatError. */
export async function restore(
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: StateMachineOptions = {},
): Promise<StateMachine> {
  const r = new Restorer(options);
  for await (const c of chunks) r.push(c);
  return r.finish();
}

/** Synchronous restore, for callers holding the chunks already. */
export function restoreSync(chunks: Iterable<Uint8Array>, options: StateMachineOptions = {}): StateMachine {
  const r = new Restorer(options);
  for (const c of chunks) r.push(c);
  return r.finish();
}

/**
 * The framing of a snapshot stream: magic, then records (type, length, payload) under a running
 * CRC-32C, closed by the end record that carries it. Each whole record goes to `onRecord`.
 */
class RecordReader {
  #pending: Buffer = Buffer.alloc(0);
  #crc = 0;
  #magic = false;
  #ended = false;

  constructor(private readonly onRecord: (type: number, payload: Buffer) => void) {}

  get ended(): boolean {
    return this.#ended;
  }

  push(chunk: Uint8Array): void {
    const c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let b = this.#pending.length > 0 ? Buffer.concat([this.#pending, c]) : c;
    let off = 0;
    if (!this.#magic) {
      if (b.length < MAGIC.length) {
        this.#pending = Buffer.from(b);
        return;
      }
      const magic = b.subarray(0, MAGIC.length);
      if (!magic.equals(MAGIC) && !magic.equals(MAGIC_V1)) throw new SnapshotFormatError('wrong magic');
      this.#magic = true;
      this.#crc = crc32c(magic, 0);
      off = MAGIC.length;
    }
    while (b.length - off >= 5) {
      const type = b[off]!;
      const len = b.readUInt32BE(off + 1);
      if (b.length - off < 5 + len) break;
      if (this.#ended) throw new SnapshotFormatError('data after the end record');
      if (type === T_END) {
        if (this.#crc >>> 0 !== b.readUInt32BE(off + 5)) throw new SnapshotFormatError('checksum mismatch');
        this.#ended = true;
      } else {
        this.#crc = crc32c(b.subarray(off, off + 5 + len), this.#crc);
        this.onRecord(type, b.subarray(off + 5, off + 5 + len));
      }
      off += 5 + len;
    }
    b = b.subarray(off);
    // Copy the tail so the caller's chunk is not pinned.
    this.#pending = Buffer.from(b);
  }

  /** Throws unless the stream reached its end record. */
  finish(): void {
    if (!this.#ended) throw new SnapshotFormatError('truncated');
  }
}

/**
 * Passes a snapshot stream through, failing at its end unless it is whole: framed, checksummed
 * and closed by its end record. A member saves a snapshot streamed by the leader through this,
 * so a stream cut short (a connection closed mid-transfer that the gRPC layer ended quietly) is
 * never stored, where installing it would fail and, stored, keep the member from starting.
 */
export async function* checkedSnapshot(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  const reader = new RecordReader(() => {});
  for await (const c of chunks) {
    reader.push(c);
    yield c;
  }
  reader.finish();
}

class Restorer {
  readonly sm: StateMachine;
  readonly #reader = new RecordReader((type, payload) => this.#record(type, payload));
  #meta = false;
  #log: Rev[] = [];

  constructor(options: StateMachineOptions) {
    this.sm = new StateMachine(options);
  }

  push(chunk: Uint8Array): void {
    this.#reader.push(chunk);
  }

  #record(type: number, p: Buffer): void {
    const sm = this.sm;
    if (!this.#meta && type !== T_META) throw new SnapshotFormatError('missing header');
    switch (type) {
      case T_META:
        sm.appliedIndex = p.readDoubleBE(0);
        sm.kv.currentRev = p.readDoubleBE(8);
        sm.kv.compactRev = compactRevFromDisk(p.readDoubleBE(16));
        sm.lessor.idSeq = p.readBigUInt64BE(24);
        this.#meta = true;
        return;
      case T_LEASE:
        sm.lessor.leases.set(
          p.readBigInt64BE(0),
          new Lease(p.readBigInt64BE(0), p.readDoubleBE(8), p.readDoubleBE(16)),
        );
        return;
      case T_ALARM:
        sm.alarms.activate(p.readBigUInt64BE(0), p.readInt32BE(8));
        return;
      case T_AUTH:
        try {
          sm.auth.load(JSON.parse(p.toString('utf8')));
        } catch (err) {
          throw new SnapshotFormatError(`auth record: ${err instanceof Error ? err.message : String(err)}`);
        }
        return;
      case T_PAD:
        return;
      case T_KEY: {
        let o = 0;
        const klen = p.readUInt32BE(o);
        o += 4;
        const key = p.toString('latin1', o, o + klen);
        o += klen;
        const count = p.readUInt32BE(o);
        o += 4;
        const revs: Rev[] = [];
        const compactRev = sm.kv.compactRev;
        for (let i = 0; i < count; i++) {
          const main = p.readDoubleBE(o);
          const sub = p.readUInt32BE(o + 8);
          const tomb = p[o + 12] === 1;
          const create = p.readDoubleBE(o + 13);
          const version = p.readDoubleBE(o + 21);
          const lease = p.readBigInt64BE(o + 29);
          const vlen = p.readUInt32BE(o + 37);
          o += 41;
          const value = p.toString('latin1', o, o + vlen);
          o += vlen;
          const r = new RevClass(key, main, sub, value, create, version, lease, tomb);
          revs.push(r);
          sm.kv.sizeBytes += revBytes(r);
          if (main >= compactRev && !(main === compactRev && tomb)) this.#log.push(r);
        }
        if (o !== p.length)
          throw new SnapshotFormatError(`key record length mismatch at ${JSON.stringify(key)}`);
        sm.kv.index.set(key, revs);
        const last = revs[revs.length - 1];
        if (last && !last.tomb && last.lease !== 0n) sm.lessor.attach(last.lease, key);
        return;
      }
      default:
        throw new SnapshotFormatError(`unknown record type ${type}`);
    }
  }

  finish(): StateMachine {
    this.#reader.finish();
    this.#log.sort((a, b) => a.main - b.main || a.sub - b.sub);
    this.sm.kv.log = this.#log;
    return this.sm;
  }
}
