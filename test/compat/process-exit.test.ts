/**
 * Process lifetime: a client holding nothing lets Node exit; a kept lease or an open watch keeps
 * the process alive until it ends; close() releases everything. Each case runs a fixture script
 * (test/fixtures/exit-*.mjs) in a child `node` that imports the built package (dist/src).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { sleep, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { ROOT } from '../harness/fixtures.js';

const FIXTURES = path.join(ROOT, 'test/fixtures');

// etcdSuite builds dist/ if it is missing: the fixtures import the built package.
const etcd = etcdSuite({ members: 1, name: 'exit', client: { timeoutMs: 5000 } });

interface Line {
  text: string;
  at: number;
}

/** A fixture running in a child node process, with its output lines timestamped as they arrive. */
class Fixture {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  #stderr = '';
  #waiters: (() => void)[] = [];

  constructor(script: string, prefix: string) {
    this.child = spawn(process.execPath, [path.join(FIXTURES, script)], {
      cwd: ROOT,
      env: { ...process.env, ENDPOINTS: etcd.cluster.endpoints.join(','), PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      this.lines.push({ text, at: performance.now() });
      for (const w of this.#waiters.splice(0)) w();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.#stderr += c;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        const at = performance.now();
        for (const w of this.#waiters.splice(0)) w();
        resolve({ code, signal, at });
      });
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for an output line matching `re`. */
  async line(re: RegExp, ms = 10_000): Promise<Line> {
    const find = () => this.lines.find((l) => re.test(l.text));
    const wait = async () => {
      for (;;) {
        const l = find();
        if (l) return l;
        if (!this.alive) throw new Error(`child exited before printing ${re}; stderr: ${this.#stderr}`);
        await new Promise<void>((r) => this.#waiters.push(r));
      }
    };
    return withTimeout(wait(), ms, `child to print ${re}; output: ${this.output}; stderr: ${this.#stderr}`);
  }

  get output(): string {
    return this.lines.map((l) => l.text).join(' | ');
  }

  get stderr(): string {
    return this.#stderr;
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }
}

describe('process lifetime', () => {
  test('an idle client does not keep the process alive: it exits within 1 s of its last line', async () => {
    const f = new Fixture('exit-idle.mjs', 'exit-idle');
    try {
      const last = await f.line(/^done /);
      expect(last.text).toBe('done v');
      const exit = await withTimeout(f.exited, 5000, 'child to exit by itself');
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.at - last.at).toBeLessThanOrEqual(1000);
      expect(f.stderr).toBe('');
    } finally {
      f.kill();
    }
  }, 20_000);

  test('a kept lease keeps the process alive until it is revoked elsewhere', async () => {
    const f = new Fixture('exit-lease.mjs', 'exit-lease');
    try {
      const printed = await f.line(/^lease \d+$/);
      const id = BigInt(printed.text.split(' ')[1]!);
      await sleep(3000);
      expect(f.alive).toBe(true);
      // Still kept alive: well past its TTL of 2 s, the lease and its key exist.
      expect((await etcd.client.leaseTimeToLive(id)).ttl).toBeGreaterThan(0);
      expect(await etcd.client.getString('exit-lease/k')).toBe('v');

      await etcd.client.revokeLease(id);
      const revokedAt = performance.now();
      const exit = await withTimeout(
        f.exited,
        5000,
        `child to exit after its lease was revoked (${f.output})`,
      );
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.at - revokedAt).toBeLessThanOrEqual(3000);
      expect(f.lines.map((l) => l.text)).toContain('lost expired');
      expect(f.stderr).toBe('');
    } finally {
      f.kill();
    }
  }, 20_000);

  test('an open watch keeps the process alive; leaving the loop lets it exit', async () => {
    const f = new Fixture('exit-watch.mjs', 'exit-watch');
    try {
      await f.line(/^watching$/);
      await etcd.client.put('exit-watch/a', '1');
      await f.line(/^event put exit-watch\/a$/);
      await sleep(2000);
      expect(f.alive).toBe(true);

      await etcd.client.put('exit-watch/stop', '1');
      const ended = await f.line(/^loop ended$/);
      const exit = await withTimeout(
        f.exited,
        5000,
        `child to exit after its watch loop ended (${f.output})`,
      );
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.at).toBeGreaterThanOrEqual(ended.at);
      expect(f.stderr).toBe('');
    } finally {
      f.kill();
    }
  }, 20_000);

  test('close() with a kept lease and an open watch lets the process exit', async () => {
    const f = new Fixture('exit-close.mjs', 'exit-close');
    try {
      const ready = await f.line(/^ready \d+$/);
      const id = BigInt(ready.text.split(' ')[1]!);
      await sleep(2500);
      expect(f.alive).toBe(true);
      expect((await etcd.client.leaseTimeToLive(id)).ttl).toBeGreaterThan(0);

      await etcd.client.put('exit-close/close', '1');
      await f.line(/^closing$/);
      const exit = await withTimeout(f.exited, 5000, `child to exit after close() (${f.output})`);
      expect(exit).toMatchObject({ code: 0, signal: null });
      const out = f.lines.map((l) => l.text);
      expect(out).toContain('watch failed client-closed');
      expect(out).toContain('lease ended true client-closed');
      expect(f.stderr).toBe('');
      // close() only stops the keepalive: the lease is still there until its TTL runs out.
      expect((await etcd.client.leaseTimeToLive(id)).ttl).toBeGreaterThanOrEqual(0);
    } finally {
      f.kill();
    }
  }, 20_000);
});
