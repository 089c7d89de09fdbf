import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import {
  Wal,
  WalClosedError,
  WalCorruptError,
  type WalEntry,
  WalVersionError,
} from '../../src/storage/index.js';
import { HEADROOM_BYTES } from '../../src/storage/wal/wal.js';
import { entries, entry, removeTempDirs, summary, tempDir } from './wal-helpers.js';

afterEach(removeTempDirs);

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wal'))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Offsets of the record headers in a segment (16-byte file header, 16-byte record headers),
 * up to the zero-filled headroom.
 */
function recordOffsets(file: string): number[] {
  const buf = readFileSync(file);
  const out: number[] = [];
  for (let at = 16; at + 16 <= buf.length && buf.readUInt32LE(at + 12) !== 0; at += 16 + buf.readUInt32LE(at))
    out.push(at);
  return out;
}

/** Where a segment's last record ends (the start of its headroom). */
function recordsEnd(file: string): number {
  const buf = readFileSync(file);
  const offsets = recordOffsets(file);
  const last = offsets.at(-1);
  return last === undefined ? 16 : last + 16 + buf.readUInt32LE(last);
}

const quiet = { onTornTail: () => {} };

/** Writes each of `saves` to a new WAL in `dir` and closes it: its one segment, to tamper with. */
async function closedWal(dir: string, saves: WalEntry[][]): Promise<string> {
  const wal = await Wal.open(dir);
  for (const batch of saves) await wal.save(undefined, batch);
  await wal.close();
  return segments(dir)[0]!;
}

/** Entries 1..n, one save each (one record each). */
const oneByOne = (n: number) => Array.from({ length: n }, (_, i) => [entry(i + 1)]);

describe('Wal', () => {
  test('entries and hard state survive a reopen', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    expect(wal.readAll()).toEqual({ hardState: undefined, snapshot: undefined, entries: [] });
    await wal.save({ term: 2, vote: 0xfedcba9876543210n, commit: 3 }, entries(1, 5, 2));
    await wal.save({ term: 2, vote: 0xfedcba9876543210n, commit: 5 }, []);
    await wal.close();
    const again = await Wal.open(dir);
    const got = again.readAll();
    expect(got.hardState).toEqual({ term: 2, vote: 0xfedcba9876543210n, commit: 5 });
    expect(summary(got.entries)).toEqual(summary(entries(1, 5, 2)));
    expect(again.recovery.tornTail).toBeUndefined();
    await again.close();
  });

  test('a later entry at an earlier index replaces the suffix (§5.3 log overwrite)', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await wal.save(undefined, entries(1, 5, 1));
    await wal.save(undefined, [entry(3, 2, 'new-3'), entry(4, 2, 'new-4')]);
    await wal.close();
    const again = await Wal.open(dir);
    expect(summary(again.readAll().entries)).toEqual([
      '1/1:entry-1',
      '2/1:entry-2',
      '3/2:new-3',
      '4/2:new-4',
    ]);
    await again.close();
  });

  test('group commit: saves issued together share one write and one fdatasync', async () => {
    const wal = await Wal.open(tempDir());
    await Promise.all(Array.from({ length: 64 }, (_, i) => wal.save(undefined, [entry(i + 1)])));
    expect(wal.stats()).toMatchObject({ appends: 64, fsyncs: 1 });
    // One more in flight while the next 10 queue: at most two more rounds.
    const first = wal.save(undefined, [entry(65)]);
    await Promise.resolve();
    const rest = Array.from({ length: 10 }, (_, i) => wal.save(undefined, [entry(66 + i)]));
    await Promise.all([first, ...rest]);
    expect(wal.stats().appends).toBe(75);
    expect(wal.stats().fsyncs).toBeLessThanOrEqual(3);
    await wal.close();
    const again = await Wal.open(tempDir());
    await again.close();
  });

  test('a snapshot marker keeps the entries after it only when the log holds its own entry', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await wal.save({ term: 1, vote: 0n, commit: 10 }, entries(1, 10));
    // A local snapshot: entry 6 is of term 1, so 7-10 continue it.
    await wal.saveSnapshot({ index: 6, term: 1 });
    await wal.close();
    let again = await Wal.open(dir);
    expect(summary(again.readAll().entries)).toEqual([
      '7/1:entry-7',
      '8/1:entry-8',
      '9/1:entry-9',
      '10/1:entry-10',
    ]);
    // A leader's snapshot at 8 of term 2: 9 and 10 are of the older log, which raft discarded.
    await again.saveSnapshot({ index: 8, term: 2 });
    await again.close();
    again = await Wal.open(dir);
    expect(again.readAll()).toMatchObject({ snapshot: { index: 8, term: 2 }, entries: [] });
    await again.save({ term: 2, vote: 0n, commit: 9 }, [entry(9, 2, 'new-9')]);
    await again.close();
    again = await Wal.open(dir);
    expect(summary(again.readAll().entries)).toEqual(['9/2:new-9']);
    await again.close();
  });

  test('segments rotate at the size limit and are released behind a snapshot', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir, { segmentBytes: 4096 });
    for (let i = 1; i <= 200; i += 10) await wal.save({ term: 1, vote: 0n, commit: i }, entries(i, i + 9));
    expect(wal.stats().segments).toBeGreaterThanOrEqual(3);
    // No snapshot yet: nothing may be released.
    expect(await wal.releaseTo(150)).toBe(0);
    await wal.saveSnapshot({ index: 150, term: 1 });
    const released = await wal.releaseTo(150);
    expect(released).toBeGreaterThan(0);
    expect(segments(dir).length).toBe(wal.stats().segments);
    await wal.close();
    const again = await Wal.open(dir);
    const got = again.readAll();
    expect(got.snapshot).toEqual({ index: 150, term: 1 });
    expect(got.hardState).toEqual({ term: 1, vote: 0n, commit: 191 });
    expect(summary(got.entries)).toEqual(summary(entries(151, 200)));
    await again.save(undefined, [entry(201)]);
    await again.close();
  });

  test('entries restart after a snapshot marker beyond the log (installed snapshot)', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await wal.save(undefined, entries(1, 3));
    await wal.saveSnapshot({ index: 100, term: 4 });
    await wal.save(undefined, [entry(101, 4), entry(102, 4)]);
    await wal.close();
    const again = await Wal.open(dir);
    expect(again.readAll().snapshot).toEqual({ index: 100, term: 4 });
    expect(summary(again.readAll().entries)).toEqual(['101/4:entry-101', '102/4:entry-102']);
    await again.close();
  });

  test('a byte flipped in a middle record refuses start-up, naming the file and offset', async () => {
    for (const where of ['payload', 'length'] as const) {
      const dir = tempDir();
      const file = await closedWal(dir, oneByOne(10));
      const offsets = recordOffsets(file);
      const victim = offsets[4]!;
      const buf = readFileSync(file);
      buf[where === 'payload' ? victim + 16 + 3 : victim] ^= 0x40;
      writeFileSync(file, buf);
      const err = await Wal.open(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WalCorruptError);
      expect((err as WalCorruptError).file).toBe(file);
      expect((err as WalCorruptError).offset).toBe(victim);
      expect((err as Error).message).toContain(`${file} at offset ${victim}`);
    }
  });

  test('corruption at the end of a segment that is not the last one refuses start-up', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir, { segmentBytes: 2048 });
    for (let i = 1; i <= 60; i++) await wal.save(undefined, [entry(i)]);
    await wal.close();
    const [first] = segments(dir);
    truncateSync(first!, statSync(first!).size - 5);
    await expect(Wal.open(dir)).rejects.toThrow(WalCorruptError);
  });

  test('a torn tail is cut off and reported; appends continue after it', async () => {
    const dir = tempDir();
    const file = await closedWal(dir, oneByOne(10));
    const offsets = recordOffsets(file);
    const size = statSync(file).size;
    truncateSync(file, size - 4);
    const reports: unknown[] = [];
    const again = await Wal.open(dir, { onTornTail: (t) => reports.push(t) });
    const torn = {
      file,
      offset: offsets[9],
      bytes: size - 4 - offsets[9]!,
      reason: expect.stringContaining('cut short'),
    };
    expect(again.recovery.tornTail).toEqual(torn);
    expect(reports).toEqual([torn]);
    expect(statSync(file).size).toBe(offsets[9]);
    expect(summary(again.readAll().entries)).toEqual(summary(entries(1, 9)));
    await again.save(undefined, [entry(10, 1, 'again')]);
    await again.close();
    const third = await Wal.open(dir);
    expect(third.recovery.tornTail).toBeUndefined();
    expect(summary(third.readAll().entries).at(-1)).toBe('10/1:again');
    await third.close();
  });

  test('a zero-filled tail is headroom: kept, not reported, and the next append writes over it', async () => {
    const dir = tempDir();
    const file = await closedWal(dir, [entries(1, 3)]);
    const size = statSync(file).size;
    writeFileSync(file, Buffer.alloc(1000), { flag: 'a' });
    const reports: unknown[] = [];
    const again = await Wal.open(dir, { onTornTail: (t) => reports.push(t) });
    expect(again.recovery.tornTail).toBeUndefined();
    expect(reports).toEqual([]);
    expect(statSync(file).size).toBe(size + 1000);
    expect(again.readAll().entries).toHaveLength(3);
    await again.save(undefined, [entry(4)]);
    await again.close();
    const third = await Wal.open(dir);
    expect(summary(third.readAll().entries)).toEqual(summary(entries(1, 4)));
    await third.close();
    expect(statSync(file).size).toBe(recordsEnd(file));
  });

  test('an open segment carries zero-filled headroom after its records; close cuts it off', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await wal.save(undefined, [entry(1)]);
    const [file] = segments(dir);
    // The first write grew the file: it took the headroom with it, in the same write.
    const grown = statSync(file!).size;
    expect(grown).toBe(recordsEnd(file!) + HEADROOM_BYTES);
    for (let i = 2; i <= 20; i++) await wal.save(undefined, [entry(i)]);
    // Later writes landed inside it: the file did not grow.
    expect(statSync(file!).size).toBe(grown);
    expect(
      readFileSync(file!)
        .subarray(recordsEnd(file!))
        .every((b) => b === 0),
    ).toBe(true);
    await wal.close();
    expect(statSync(file!).size).toBe(recordsEnd(file!));
  });

  test('rotation cuts the old segment back to its records: only the last segment ends in zeros', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir, { segmentBytes: 2048 });
    for (let i = 1; i <= 150; i++) await wal.save(undefined, [entry(i)]);
    const files = segments(dir);
    expect(files.length).toBeGreaterThan(2);
    for (const f of files.slice(0, -1)) expect(statSync(f).size).toBe(recordsEnd(f));
    const last = files.at(-1)!;
    expect(statSync(last).size).toBeGreaterThan(recordsEnd(last));
    await wal.close();
    const again = await Wal.open(dir);
    expect(summary(again.readAll().entries)).toEqual(summary(entries(1, 150)));
    await again.close();
  });

  describe('a batch torn over headroom (a later sector on disk, an earlier one not)', () => {
    /** Entries 1-4 one by one, then 5-12 in one write; the WAL left open, as a crash leaves it. */
    async function crashedWithBatch(dir: string): Promise<{ file: string; offsets: number[] }> {
      const wal = await Wal.open(dir);
      for (let i = 1; i <= 4; i++) await wal.save(undefined, [entry(i)]);
      await wal.save(
        undefined,
        Array.from({ length: 8 }, (_, i) => entry(i + 5, 1, `batch-${i + 5}-${'x'.repeat(300)}`)),
      );
      const [file] = segments(dir);
      const offsets = recordOffsets(file!);
      await wal.close();
      // close() cut the headroom; a crash would have left it.
      writeFileSync(file!, Buffer.alloc(HEADROOM_BYTES), { flag: 'a' });
      return { file: file!, offsets };
    }

    /** Zeros `file` from `at` to the next sector boundary: bytes of the torn write that never landed. */
    function unwriteFrom(file: string, at: number): void {
      const buf = readFileSync(file);
      buf.fill(0, at, (Math.floor(at / 512) + 1) * 512);
      writeFileSync(file, buf);
    }

    /** A record of the batch, and where its damage starts: its header, or a sector boundary inside its payload. */
    function victimOf(
      file: string,
      offsets: number[],
      part: 'header' | 'payload',
    ): { record: number; from: number } {
      const buf = readFileSync(file);
      for (const o of offsets.slice(5)) {
        if (part === 'header') return { record: o, from: o };
        const boundary = (Math.floor((o + 16) / 512) + 1) * 512;
        if (boundary < o + 16 + buf.readUInt32LE(o)) return { record: o, from: boundary };
      }
      throw new Error('no record of the batch crosses a sector boundary');
    }

    test.each([
      ['header', 'torn record header (zero-filled sector)'],
      ['payload', 'torn record (zero-filled sector)'],
    ] as const)(
      'a record %s in an unwritten sector: cut there though later records are whole',
      async (part, reason) => {
        const dir = tempDir();
        const { file, offsets } = await crashedWithBatch(dir);
        const { record, from } = victimOf(file, offsets, part);
        unwriteFrom(file, from);
        const kept = offsets.indexOf(record);
        // Whole records of the same write follow the damage.
        expect(recordOffsets(file).length).toBeLessThan(offsets.length);
        const reports: unknown[] = [];
        const again = await Wal.open(dir, { onTornTail: (t) => reports.push(t) });
        expect(again.recovery.tornTail).toMatchObject({ file, offset: record, reason });
        expect(reports).toHaveLength(1);
        expect(again.readAll().entries.map((e) => e.index)).toEqual(
          Array.from({ length: kept }, (_, i) => i + 1),
        );
        expect(kept).toBeGreaterThanOrEqual(5);
        await again.save(undefined, [entry(kept + 1, 1, 'after')]);
        await again.close();
        const third = await Wal.open(dir);
        expect(third.recovery.tornTail).toBeUndefined();
        expect(summary(third.readAll().entries).at(-1)).toBe(`${kept + 1}/1:after`);
        await third.close();
      },
    );

    test('the same damage in a segment that is not the last is corruption', async () => {
      const dir = tempDir();
      const { file, offsets } = await crashedWithBatch(dir);
      const end = recordsEnd(file);
      unwriteFrom(file, offsets[5]!);
      // Cut the headroom and add a later segment: the damaged one is no longer where a write was torn.
      truncateSync(file, end);
      const next = path.join(dir, `${'1'.padStart(16, '0')}-${(13).toString(16).padStart(16, '0')}.wal`);
      writeFileSync(next, readFileSync(file).subarray(0, 16));
      await expect(Wal.open(dir, quiet)).rejects.toThrow(WalCorruptError);
    });
  });

  test('a data dir written by a newer format version is refused', async () => {
    const dir = tempDir();
    const file = await closedWal(dir, [entries(1, 2)]);
    const buf = readFileSync(file);
    buf.writeUInt32LE(2, 8);
    buf.writeUInt32LE(crc32c(buf.subarray(0, 12)), 12);
    writeFileSync(file, buf);
    const err = await Wal.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalVersionError);
    expect((err as Error).message).toMatch(/format version 2, this build reads up to version 1/);
  });

  test('saves after close reject with WalClosedError', async () => {
    const wal = await Wal.open(tempDir());
    await wal.close();
    await expect(wal.save(undefined, [entry(1)])).rejects.toThrow(WalClosedError);
  });

  test('options are validated', async () => {
    await expect(Wal.open(tempDir(), { segmentBytes: 10 })).rejects.toThrow(/segmentBytes.*got 10/);
  });
});
