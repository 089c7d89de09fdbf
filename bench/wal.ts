/**
 * WAL group commit: appends/s and fsyncs/s for 1 and 64 concurrent appenders of 256-byte
 * records, beside the disk's raw fdatasync rate measured here on the same directory.
 *
 *   npm run bench:wal
 *
 * Environment: BENCH_DIR (default the OS temp dir; a fresh subdirectory is used and removed),
 * BENCH_SECONDS per measurement (default 3), BENCH_RECORD_BYTES (default 256).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wal } from '../src/storage/index.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const recordBytes = Number(process.env.BENCH_RECORD_BYTES ?? 256);
const root = mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'concord-bench-wal-'));

let rawRuns = 0;
function rawFdatasync(): number {
  const fd = openSync(path.join(root, `raw-${rawRuns++}`), 'w');
  const buf = Buffer.alloc(recordBytes, 7);
  let n = 0;
  const end = performance.now() + seconds * 1000;
  let t = performance.now();
  for (; t < end; n++) {
    writeSync(fd, buf);
    fdatasyncSync(fd);
    if (n % 16 === 0) t = performance.now();
  }
  const rate = n / seconds;
  closeSync(fd);
  return rate;
}

async function walRate(appenders: number): Promise<{ appends: number; fsyncs: number; perBatch: number }> {
  const dir = path.join(root, `wal-${appenders}`);
  const wal = await Wal.open(dir);
  const data = Buffer.alloc(recordBytes, 9);
  let next = 1;
  let stop = false;
  const t0 = performance.now();
  const worker = async () => {
    while (!stop) {
      const index = next++;
      await wal.save(undefined, [{ index, term: 1, type: 0, data }]);
    }
  };
  const timer = setTimeout(() => {
    stop = true;
  }, seconds * 1000);
  await Promise.all(Array.from({ length: appenders }, worker));
  clearTimeout(timer);
  const elapsed = (performance.now() - t0) / 1000;
  const s = wal.stats();
  await wal.close();
  return { appends: s.appends / elapsed, fsyncs: s.fsyncs / elapsed, perBatch: s.appends / s.fsyncs };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9);
try {
  console.log(`WAL bench: ${recordBytes}-byte records, ${seconds} s per run, in ${root}`);
  // Raw rate measured before and after the WAL runs: on a shared disk it drifts.
  const raw = () =>
    console.log(
      `raw write+fdatasync, ${recordBytes} B appended per call: ${fmt(rawFdatasync())} fdatasyncs/s`,
    );
  raw();
  for (const n of [1, 64]) {
    const r = await walRate(n);
    console.log(
      `WAL, ${String(n).padStart(2)} appender(s): ${fmt(r.appends)} appends/s  ${fmt(r.fsyncs)} fsyncs/s  ` +
        `(${r.perBatch.toFixed(1)} appends per fsync)`,
    );
  }
  raw();
} finally {
  rmSync(root, { recursive: true, force: true });
}
