/**
 * Crash test: a child process appends entries with acknowledgements and is SIGKILLed at random
 * moments. After every restart every acknowledged entry is present, every present entry is whole
 * and in place (nothing half-present), and appends continue. The delays come from a seeded RNG
 * whose seed is printed, so a failing run's schedule can be repeated (the kernel's timing cannot).
 */
import { SeededRng } from '../../src/raft/rng.js';
import { ensureBuilt, killAll, type Spawned, spawnFixture } from '../harness/fixtures.js';
import { removeTempDirs, tempDir } from './wal-helpers.js';

const ROUNDS = 50;

interface Recovered {
  first: number | null;
  last: number;
  count: number;
  snapshot: number;
  commit: number;
  contiguous: boolean;
  bad: number[];
  torn: unknown;
  segments: number;
}

async function waitFor(p: Spawned, pred: () => boolean, what: string, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      throw new Error(`child exited while waiting for ${what}: ${p.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function acked(p: Spawned): number {
  let max = 0;
  for (const l of p.lines) if (l.startsWith('ack ')) max = Math.max(max, Number(l.slice(4)));
  return max;
}

beforeAll(ensureBuilt);
afterEach(() => {
  killAll();
  removeTempDirs();
});

test(`every acknowledged append survives ${ROUNDS} SIGKILLs at random moments`, async () => {
  const seed = Number(process.env.WAL_CRASH_SEED ?? Date.now() % 2 ** 31);
  console.log(`wal crash test seed ${seed} (WAL_CRASH_SEED=${seed} repeats the schedule)`);
  const rng = new SeededRng(seed);
  const dir = tempDir('concord-wal-crash-');
  let maxAcked = 0;
  let tornSeen = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    const p = spawnFixture('wal-crash-child.mjs', { WAL_DIR: dir, SEGMENT_BYTES: '32768' });
    await waitFor(p, () => p.lines.length > 0, 'recovery report');
    const r = JSON.parse(p.lines[0]!) as Recovered;
    const context = `round ${round}, seed ${seed}: ${p.lines[0]}`;
    if (r.torn) tornSeen++;
    expect({ context, bad: r.bad, contiguous: r.contiguous }).toEqual({ context, bad: [], contiguous: true });
    expect({ context, lastAtLeastAcked: r.last >= maxAcked }).toEqual({ context, lastAtLeastAcked: true });
    expect({ context, commit: r.commit >= maxAcked && r.commit <= r.last }).toEqual({
      context,
      commit: true,
    });
    if (r.count > 0) expect({ context, first: r.first }).toEqual({ context, first: r.snapshot + 1 });
    if (round === ROUNDS) break;
    // Appends continue after recovery: wait for a new acknowledgement, then kill at a random moment.
    await waitFor(p, () => acked(p) > r.last, 'appends to continue');
    await new Promise((res) => setTimeout(res, rng.next() * 40));
    p.child.kill('SIGKILL');
    await p.exited;
    maxAcked = Math.max(maxAcked, acked(p));
  }
  console.log(`wal crash test: ${maxAcked} entries acknowledged, ${tornSeen} torn tails cut`);
  expect(maxAcked).toBeGreaterThan(ROUNDS);
}, 300_000);
