/**
 * How the WAL makes a batch durable: segments open for appending with O_DSYNC, so one write is
 * the write and the sync, one threadpool round trip per batch instead of a write and then an
 * fdatasync. Read from the kernel (/proc/self/fdinfo) and from async_hooks, not from the code.
 */
import { createHook } from 'node:async_hooks';
import { constants, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Wal } from '../../src/storage/index.js';
import { entries, entry, removeTempDirs, tempDir } from './wal-helpers.js';

afterEach(removeTempDirs);

/** The open flags of every descriptor this process holds on a file in `dir`. */
function openFlags(dir: string): number[] {
  const out: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the directory's own descriptor)
    }
    if (!target.startsWith(`${dir}/`)) continue;
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    out.push(Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(info)![1]!, 8));
  }
  return out;
}

const dsync = (flags: number) => (flags & constants.O_DSYNC) === constants.O_DSYNC;

test('a segment is written with O_DSYNC, a new one too and one reopened after a restart', async () => {
  const dir = tempDir();
  let wal = await Wal.open(dir, { segmentBytes: 1024 });
  await wal.save(undefined, entries(1, 3));
  expect(openFlags(dir).map(dsync)).toEqual([true]);
  // Past segmentBytes: the next save rotates to a new segment.
  await wal.save(undefined, [entry(4, 1, 'x'.repeat(1100))]);
  await wal.save(undefined, [entry(5)]);
  expect(wal.stats().segments).toBe(2);
  expect(openFlags(dir).map(dsync)).toEqual([true]);
  await wal.close();
  expect(openFlags(dir)).toEqual([]);
  wal = await Wal.open(dir, { segmentBytes: 1024 });
  await wal.save(undefined, [entry(6)]);
  expect(openFlags(dir).map(dsync)).toEqual([true]);
  expect(wal.readAll().entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
  await wal.close();
});

/** The threadpool requests (fs.* with a callback or a promise) made while `fn` runs. */
async function fsRequests(fn: () => Promise<void>): Promise<string[]> {
  const types: string[] = [];
  const hook = createHook({ init: (_id, type) => types.push(type) });
  hook.enable();
  try {
    await fn();
  } finally {
    hook.disable();
  }
  return types.filter((t) => t.startsWith('FS'));
}

test('a batch costs one filesystem request: the write, with no fdatasync after it', async () => {
  const wal = await Wal.open(tempDir());
  await wal.save(undefined, [entry(1)]);
  expect(await fsRequests(() => wal.save({ term: 1, vote: 0n, commit: 1 }, entries(2, 9)))).toEqual([
    'FSREQCALLBACK',
  ]);
  expect(wal.stats().fsyncs).toBe(2);
  await wal.close();
});
