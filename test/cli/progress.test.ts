/**
 * Progress of the CLI's long snapshot operations: on a TTY one line redrawn with `\r` (bytes /
 * total, MiB/s, elapsed) and a summary in its place; elsewhere a plain line every ~2 s or 10%
 * and a summary, nothing at all for an operation shorter than 2 s; no timers, so nothing runs
 * after done(). Then `concord snapshot status` on a real file: progress on stderr (forced with
 * CONCORD_PROGRESS=1, since the file is read in well under 2 s), stdout byte for byte unchanged.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { counted, Progress, type ProgressStream } from '../../src/cli/progress.js';
import { StateMachine, snapshot } from '../../src/mvcc/index.js';
import { put } from '../mvcc/helpers.js';
import { cleanup, ensureServerBuilt, run, tempDir } from './cli-helpers.js';

afterEach(cleanup);

const MiB = 1024 * 1024;

function fakeStream(isTTY: boolean): ProgressStream & { text: string } {
  return {
    isTTY,
    text: '',
    write(t: string) {
      this.text += t;
      return true;
    },
  };
}

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('on a TTY: one line redrawn with \\r, bytes / total, rate and elapsed, then a summary in its place', () => {
  const out = fakeStream(true);
  const clock = fakeClock();
  const p = new Progress(out, { label: 'reading x.db', total: 10 * MiB, now: clock.now });
  clock.advance(1000);
  p.add(2 * MiB);
  expect(out.text).toBe('\rreading x.db: 2.0 MiB / 10.0 MiB (20%), 2.0 MiB/s, 1.0s elapsed\x1b[K');
  clock.advance(50);
  p.add(1);
  expect(out.text.split('\r')).toHaveLength(2); // redraws at most every 100 ms
  clock.advance(1000);
  p.add(3 * MiB - 1);
  expect(out.text).toContain('\rreading x.db: 5.0 MiB / 10.0 MiB (50%)');
  expect(out.text).not.toContain('\n');
  p.done();
  expect(out.text.endsWith('\rreading x.db: 5.0 MiB in 2.0s (2.4 MiB/s)\x1b[K\n')).toBe(true);
  const before = out.text;
  p.done();
  p.add(MiB);
  expect(out.text).toBe(before);
});

test('on a TTY, a failure ends the line so the error starts on its own', () => {
  const out = fakeStream(true);
  const p = new Progress(out, { label: 'saving f', now: fakeClock().now });
  p.add(100);
  p.done(false);
  expect(out.text).toBe('\rsaving f: 100 B, 0.0 MiB/s, 0.0s elapsed\x1b[K\n');
});

test('not a TTY: quiet for a short operation', () => {
  const out = fakeStream(false);
  const clock = fakeClock();
  const p = new Progress(out, { label: 'reading x.db', total: MiB, now: clock.now });
  for (let i = 0; i < 4; i++) {
    clock.advance(300);
    p.add(MiB / 4);
  }
  p.done();
  expect(out.text).toBe('');
});

test('not a TTY: plain lines every 2 s or 10% once it runs long, then a summary line', () => {
  const out = fakeStream(false);
  const clock = fakeClock();
  const p = new Progress(out, { label: 'restoring s1', total: 100 * MiB, now: clock.now });
  clock.advance(1000);
  p.add(MiB); // 1 s: still quiet
  expect(out.text).toBe('');
  clock.advance(1000);
  p.add(MiB); // 2 s: the first line
  clock.advance(100);
  p.add(MiB); // not due: 3% and 100 ms later
  clock.advance(100);
  p.add(8 * MiB); // 11%: a 10% step
  clock.advance(500);
  p.add(MiB); // not due
  clock.advance(2000);
  p.add(MiB); // 2 s later
  p.done();
  const lines = out.text.split('\n');
  expect(lines.pop()).toBe('');
  expect(out.text).not.toContain('\r');
  expect(lines).toEqual([
    'restoring s1: 2.0 MiB / 100.0 MiB (2%), 1.0 MiB/s, 2.0s elapsed',
    'restoring s1: 11.0 MiB / 100.0 MiB (11%), 5.0 MiB/s, 2.2s elapsed',
    'restoring s1: 13.0 MiB / 100.0 MiB (13%), 2.8 MiB/s, 4.7s elapsed',
    'restoring s1: 13.0 MiB in 4.7s (2.8 MiB/s)',
  ]);
});

test('not a TTY, no total: a line every 2 s, and quietMs 0 shows it from the start', () => {
  const out = fakeStream(false);
  const clock = fakeClock();
  const p = new Progress(out, { label: 'saving f', now: clock.now, quietMs: 0 });
  p.add(1024);
  clock.advance(1000);
  p.add(1024);
  clock.advance(1000);
  p.add(1024);
  p.done();
  expect(out.text).toBe(
    [
      'saving f: 1.0 KiB, 0.0 MiB/s, 0.0s elapsed',
      'saving f: 3.0 KiB, 0.0 MiB/s, 2.0s elapsed',
      'saving f: 3.0 KiB in 2.0s (0.0 MiB/s)',
      '',
    ].join('\n'),
  );
});

test('counted() passes the chunks through, counts them and ends the report; a failure too', async () => {
  const out = fakeStream(true);
  const clock = fakeClock();
  const p = new Progress(out, { label: 'x', total: 6, now: clock.now });
  async function* src() {
    yield Buffer.from('abc');
    clock.advance(500);
    yield Buffer.from('def');
  }
  const got: string[] = [];
  for await (const c of counted(src(), p)) got.push(Buffer.from(c).toString());
  expect(got).toEqual(['abc', 'def']);
  expect(p.bytesDone).toBe(6);
  expect(out.text.endsWith('\rx: 6 B in 0.5s (0.0 MiB/s)\x1b[K\n')).toBe(true);

  const out2 = fakeStream(true);
  const p2 = new Progress(out2, { label: 'y', now: fakeClock().now });
  async function* broken() {
    yield Buffer.from('a');
    throw new Error('boom');
  }
  await expect(
    (async () => {
      for await (const _ of counted(broken(), p2)) {
        // drain
      }
    })(),
  ).rejects.toThrow('boom');
  expect(out2.text.endsWith('\n')).toBe(true);
  expect(out2.text).not.toContain(' in ');
});

test('concord snapshot status on a real file: progress and a summary on stderr, stdout unchanged', async () => {
  ensureServerBuilt();
  const sm = new StateMachine({ minLeaseTtlSeconds: 1 });
  for (let i = 1; i <= 50; i++) sm.apply(i, { put: put(`k${i}`, 'v'.repeat(100)) });
  const data = Buffer.concat([...snapshot(sm)]);
  const file = path.join(await tempDir(), 'backup.db');
  await writeFile(file, Buffer.concat([data, createHash('sha256').update(data).digest()]));

  for (const json of [true, false]) {
    const args = ['snapshot', 'status', file, ...(json ? ['--json'] : [])];
    const quiet = await run(args);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe(''); // short, and stderr is no TTY: nothing
    const shown = await run(args, { CONCORD_PROGRESS: '1' });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(quiet.stdout);
    const lines = shown.stderr.split('\n').filter((l) => l !== '');
    expect(lines[0]).toMatch(
      new RegExp(
        `^reading ${file.replaceAll('.', '\\.')}: .* / .* \\(\\d+%\\), [\\d.]+ MiB/s, [\\d.]+s elapsed$`,
      ),
    );
    expect(lines.at(-1)).toMatch(/^reading .*: [\d.]+ (B|KiB|MiB) in [\d.]+s \([\d.]+ MiB\/s\)$/);
    expect(shown.stderr).not.toContain('\r');
    if (json)
      expect(JSON.parse(shown.stdout)).toMatchObject({ revision: 51, totalKey: 50, totalSize: data.length });
    else expect(shown.stdout).toMatch(/HASH\s+REVISION\s+TOTAL KEYS\s+TOTAL SIZE/);
  }
}, 60_000);
