/**
 * Runs `concord serve` as a real process for tests: `node dist/src/cli/main.js serve` on a free
 * 127.0.0.1 port with a temp data dir, waiting for its ready line. `kill()` SIGKILLs it (or
 * sends another signal), `restart()` starts it again on the same port and data dir.
 */

import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, freePortRun, withTimeout } from './etcd.js';
import { ROOT, type Spawned, spawnTracked } from './fixtures.js';

export const MAIN = path.join(ROOT, 'dist/src/cli/main.js');

/** Starts `concord dev --members 3` on the ports from `base` up, in `dataDir` (not waiting for it). */
export function spawnDev(base: number, dataDir: string, ...extra: string[]): Spawned {
  const args = ['--members', '3', ...extra, '--base-port', String(base), '--data-dir', dataDir];
  return spawnTracked(process.execPath, [MAIN, 'dev', ...args]);
}

/**
 * Starts `concord dev --members 3` on six free ports and waits for its ready line. Another
 * process can take one of the six between the check and dev's bind (in CI, any test's
 * outgoing connection may get it as its local port): dev then exits naming the busy port, and
 * this tries another run of ports, as startEtcd does. Any other exit fails at once.
 */
export async function startDev(
  dataDir: string,
  {
    extra = [],
    timeoutMs = 60_000,
    pickBase = () => freePortRun(6),
  }: { extra?: string[]; timeoutMs?: number; pickBase?: () => Promise<number> } = {},
): Promise<{ dev: Spawned; base: number }> {
  for (let attempt = 1; ; attempt++) {
    const base = await pickBase();
    const dev = spawnDev(base, dataDir, ...extra);
    const ready = new Promise<boolean>((resolve) => {
      const check = () => dev.lines.some((l) => l.includes('ready to serve client requests'));
      const timer = setInterval(() => check() && done(true), 50);
      const done = (ok: boolean) => {
        clearInterval(timer);
        resolve(ok);
      };
      dev.exited.then(() => done(check()));
    });
    const ok = await withTimeout(ready, timeoutMs, 'concord dev to be ready').catch((err: Error) => {
      dev.child.kill('SIGKILL');
      throw new Error(
        `${err.message} (stdout: ${dev.stdout().slice(-800)}; stderr: ${dev.stderr().slice(-800)})`,
      );
    });
    if (ok) return { dev, base };
    if (attempt < 5 && dev.stderr().includes('address already in use')) continue;
    throw new Error(
      `concord dev exited before it was ready (stdout: ${dev.stdout().slice(-800)}; stderr: ${dev.stderr().slice(-800)})`,
    );
  }
}

const READY = /ready to serve client requests on (\S+)/;

/** Builds dist/ if the server's entry point is missing or older than any .ts file under src/ or bench/. */
export function ensureServerBuilt(): void {
  const newest = (dir: string): number => {
    let t = 0;
    for (const f of readdirSync(dir, { recursive: true }) as string[]) {
      const p = path.join(dir, f);
      if (p.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
    }
    return t;
  };
  // The server imports most of src (transport, raft, mvcc, storage …): any change there counts.
  // bench/ is compiled by the same build (test/bench runs dist/bench).
  const src = Math.max(newest(path.join(ROOT, 'src')), newest(path.join(ROOT, 'bench')));
  if (!existsSync(MAIN) || statSync(MAIN).mtimeMs < src)
    execSync('npm run build', { cwd: ROOT, stdio: 'ignore' });
}

export interface Concord {
  endpoint: string;
  port: number;
  dataDir: string;
  proc: Spawned;
  /** SIGKILL by default; resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  restart(extraArgs?: string[]): Promise<void>;
  /** Kills the process and removes the temp dir. */
  close(): Promise<void>;
}

export interface StartOptions {
  args?: string[];
  /** Reuse a data dir (not removed by close). */
  dataDir?: string;
  timeoutMs?: number;
}

async function spawnServe(
  port: number,
  peerPort: number,
  dataDir: string,
  args: string[],
  timeoutMs: number,
): Promise<Spawned> {
  // The peer URL is the member's identity (its ID derives from it): the same on every restart.
  const peer = args.includes('--listen-peer-urls')
    ? []
    : ['--listen-peer-urls', `http://127.0.0.1:${peerPort}`];
  const proc = spawnTracked(process.execPath, [
    MAIN,
    'serve',
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    `http://127.0.0.1:${port}`,
    ...peer,
    ...args,
  ]);
  const ready = new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (proc.lines.some((l) => READY.test(l))) {
        clearInterval(t);
        resolve();
      }
    }, 20);
    proc.exited.then((code) => {
      clearInterval(t);
      reject(new Error(`concord serve exited (${code}) before it was ready:\n${proc.stderr()}`));
    });
  });
  try {
    await withTimeout(ready, timeoutMs, `concord serve on port ${port}`);
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw err;
  }
  return proc;
}

export async function startConcord(opts: StartOptions = {}): Promise<Concord> {
  const own = opts.dataDir === undefined;
  const dir = own ? await mkdtemp(path.join(os.tmpdir(), 'concord-test-')) : '';
  const dataDir = opts.dataDir ?? path.join(dir, 'data');
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let args = opts.args ?? [];
  let port = 0;
  let peerPort = 0;
  let proc: Spawned | undefined;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    peerPort = await freePort();
    try {
      proc = await spawnServe(port, peerPort, dataDir, args, timeoutMs);
      break;
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE|address already in use/i.test(String(err))) throw err;
    }
  }
  const c: Concord = {
    endpoint: `127.0.0.1:${port}`,
    port,
    dataDir,
    proc,
    async kill(signal = 'SIGKILL') {
      if (c.proc.child.exitCode !== null || c.proc.child.signalCode !== null) return c.proc.child.exitCode;
      c.proc.child.kill(signal);
      return withTimeout(c.proc.exited, 10_000, 'concord serve to exit');
    },
    async restart(extraArgs) {
      await c.kill();
      if (extraArgs) args = extraArgs;
      for (let attempt = 0; ; attempt++) {
        try {
          c.proc = await spawnServe(port, peerPort, dataDir, args, timeoutMs);
          return;
        } catch (err) {
          // The port can linger a moment after a kill.
          if (attempt >= 20 || !/EADDRINUSE|address already in use|No address added/i.test(String(err)))
            throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async close() {
      await c.kill().catch(() => {});
      if (own) await rm(dir, { recursive: true, force: true });
    },
  };
  return c;
}
