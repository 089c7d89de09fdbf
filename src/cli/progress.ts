/**
 * Progress of a byte stream on stderr, for the CLI's long operations (reading, verifying,
 * restoring and saving snapshots).
 *
 * On a TTY: one line, redrawn in place (`\r`), with bytes done / total (when known), the rate and
 * the time elapsed; done() leaves a summary in its place. Elsewhere (a log, a pipe, a test): a
 * plain line every `intervalMs` or at every 10% of the total, and a summary line at the end; but
 * only once the operation has run `quietMs`, so that a short one writes nothing and the stderr
 * of scripts that saw it empty stays empty.
 *
 * No timers: lines are written as bytes arrive (add()) and in done(), so nothing is left running.
 */

/** Where progress goes: process.stderr, or a fake in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Names the operation in each line, e.g. "snapshot status backup.db". */
  label: string;
  /** Bytes expected, when known. */
  total?: number;
  /** Milliseconds, monotonic; performance.now by default. */
  now?: () => number;
  /** Not a TTY: write nothing until the operation has run this long (ms). Default 2000. */
  quietMs?: number;
  /** Not a TTY: at most one line per this many ms, unless a 10% step is crossed. Default 2000. */
  intervalMs?: number;
  /** A TTY: redraw at most this often (ms). Default 100. */
  redrawMs?: number;
}

const MiB = 1024 * 1024;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < MiB) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / (1024 * MiB)).toFixed(2)} GiB`;
}

function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s - m * 60)).padStart(2, '0')}s`;
}

export class Progress {
  private readonly out: ProgressStream;
  private readonly tty: boolean;
  private readonly label: string;
  private readonly total: number | undefined;
  private readonly now: () => number;
  private readonly quietMs: number;
  private readonly intervalMs: number;
  private readonly redrawMs: number;
  private readonly start: number;
  private bytes = 0;
  /** When a line was last written; undefined before the first. */
  private lastAt: number | undefined;
  /** The 10% step (0..10) the last plain line reported. */
  private lastStep = 0;
  private finished = false;

  constructor(out: ProgressStream, o: ProgressOptions) {
    this.out = out;
    this.tty = out.isTTY === true;
    this.label = o.label;
    this.total = o.total !== undefined && o.total > 0 ? o.total : undefined;
    this.now = o.now ?? (() => performance.now());
    this.quietMs = o.quietMs ?? 2000;
    this.intervalMs = o.intervalMs ?? 2000;
    this.redrawMs = o.redrawMs ?? 100;
    this.start = this.now();
  }

  /** Bytes counted so far. */
  get bytesDone(): number {
    return this.bytes;
  }

  /** Count `n` more bytes; writes a line when one is due. */
  add(n: number): void {
    if (this.finished) return;
    this.bytes += n;
    const t = this.now();
    const elapsed = t - this.start;
    if (this.tty) {
      if (this.lastAt === undefined || t - this.lastAt >= this.redrawMs) {
        this.lastAt = t;
        this.out.write(`\r${this.line(elapsed)}\x1b[K`);
      }
      return;
    }
    if (elapsed < this.quietMs) return;
    const step = this.total ? Math.min(10, Math.floor((this.bytes / this.total) * 10)) : 0;
    const due = this.lastAt === undefined || t - this.lastAt >= this.intervalMs || step > this.lastStep;
    if (!due) return;
    this.lastAt = t;
    this.lastStep = step;
    this.out.write(`${this.line(elapsed)}\n`);
  }

  /**
   * The end: a summary line (on a TTY in place of the progress line; elsewhere only when the
   * operation was long enough to show progress). With `ok` false, only ends a TTY's line, so that
   * the error printed next starts on its own. Idempotent.
   */
  done(ok = true): void {
    if (this.finished) return;
    this.finished = true;
    const elapsed = this.now() - this.start;
    if (this.tty) {
      if (ok) this.out.write(`\r${this.summary(elapsed)}\x1b[K\n`);
      else if (this.lastAt !== undefined) this.out.write('\n');
      return;
    }
    if (ok && (this.lastAt !== undefined || elapsed >= this.quietMs))
      this.out.write(`${this.summary(elapsed)}\n`);
  }

  private rate(elapsed: number): string {
    const perSec = elapsed > 0 ? this.bytes / MiB / (elapsed / 1000) : 0;
    return `${perSec.toFixed(1)} MiB/s`;
  }

  private line(elapsed: number): string {
    const of =
      this.total === undefined
        ? formatBytes(this.bytes)
        : `${formatBytes(this.bytes)} / ${formatBytes(this.total)} (${Math.floor((this.bytes / this.total) * 100)}%)`;
    return `${this.label}: ${of}, ${this.rate(elapsed)}, ${formatElapsed(elapsed)} elapsed`;
  }

  private summary(elapsed: number): string {
    return `${this.label}: ${formatBytes(this.bytes)} in ${formatElapsed(elapsed)} (${this.rate(elapsed)})`;
  }
}

/**
 * Passes `source` through, counting its bytes into `progress`; done() when it ends, done(false)
 * when it fails or the consumer stops early.
 */
export async function* counted(
  source: AsyncIterable<Uint8Array>,
  progress: Progress | undefined,
): AsyncGenerator<Uint8Array> {
  let ok = false;
  try {
    for await (const chunk of source) {
      progress?.add(chunk.length);
      yield chunk;
    }
    ok = true;
  } finally {
    progress?.done(ok);
  }
}
