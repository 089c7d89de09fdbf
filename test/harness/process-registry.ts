/**
 * Every process and temp dir the harness starts, recorded so that a crashed test never leaves
 * one behind: a `process.on('exit')` hook on the *host* process (Jest gives each test file a fake
 * `process` whose 'exit' event never fires) and a tiny watchdog process that cleans up when its
 * pipe closes, which also covers a Jest worker being SIGTERM'ed/SIGKILL'ed. Disable the watchdog
 * with HARNESS_NO_WATCHDOG=1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import vm from 'node:vm';

interface Registry {
  pids: Set<number>;
  dirs: Set<string>;
  /** Ports recently handed out by freePort(s), with the time they were handed out. */
  recentPorts: Map<number, number>;
  watchdog: ChildProcess | undefined;
  watchdogFailed: boolean;
}

/** The real Node process: inside Jest, the global `process` is a per-test-file copy whose events never fire. */
const hostProcess: NodeJS.Process = (() => {
  try {
    const p = vm.runInThisContext('process') as NodeJS.Process | undefined;
    if (p && typeof p.on === 'function' && typeof p.kill === 'function') return p;
  } catch {
    // fall through
  }
  return process;
})();

const REGISTRY_KEY = Symbol.for('concord.test-harness.etcd.registry');

/**
 * Module-level registry of everything started. It is shared (via the host process object) by all copies of
 * this module loaded in one process — Jest re-evaluates modules per test file — so only one exit listener
 * and one watchdog exist per process.
 */
const registry: Registry = (() => {
  const holder = hostProcess as unknown as Record<symbol, Registry | undefined>;
  const existing = holder[REGISTRY_KEY];
  if (existing) return existing;
  const created: Registry = {
    pids: new Set(),
    dirs: new Set(),
    recentPorts: new Map(),
    watchdog: undefined,
    watchdogFailed: false,
  };
  holder[REGISTRY_KEY] = created;
  hostProcess.on('exit', () => {
    for (const pid of created.pids) {
      try {
        hostProcess.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of created.dirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
  return created;
})();

const WATCHDOG_SOURCE = `
const fs = require('fs');
const pids = new Set();
const dirs = new Set();
let buf = '';
let done = false;
const cleanup = () => {
  if (done) return;
  done = true;
  for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch {} }
  for (const d of dirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch {} }
  process.exit(0);
};
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.on('SIGTERM', cleanup);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const op = line.slice(0, 2);
    const arg = line.slice(3);
    if (op === '+p') pids.add(Number(arg));
    else if (op === '-p') pids.delete(Number(arg));
    else if (op === '+d') dirs.add(arg);
    else if (op === '-d') dirs.delete(arg);
  }
});
process.stdin.on('end', cleanup);
process.stdin.on('error', cleanup);
`;

function tellWatchdog(line: string): void {
  if (process.env.HARNESS_NO_WATCHDOG === '1' || registry.watchdogFailed) return;
  let wd = registry.watchdog;
  if (!wd || wd.exitCode !== null || wd.signalCode !== null || !wd.stdin || wd.stdin.destroyed) {
    try {
      wd = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], { stdio: ['pipe', 'ignore', 'ignore'] });
      wd.on('error', () => {
        registry.watchdogFailed = true;
      });
      wd.stdin?.on('error', () => {});
      // Neither the watchdog nor its pipe may keep the test process alive.
      wd.unref();
      (wd.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      registry.watchdog = wd;
      // A fresh watchdog must learn about everything still registered.
      for (const pid of registry.pids) wd.stdin?.write(`+p ${pid}\n`);
      for (const dir of registry.dirs) wd.stdin?.write(`+d ${dir}\n`);
    } catch {
      registry.watchdogFailed = true;
      return;
    }
  }
  wd.stdin?.write(`${line}\n`);
}

/** Records (`+`) or forgets (`-`) a pid (`p`) or a temp dir (`d`), here and in the watchdog. */
function note<T>(set: Set<T>, op: '+' | '-', kind: 'p' | 'd', value: T): void {
  if (op === '+') set.add(value);
  else set.delete(value);
  tellWatchdog(`${op}${kind} ${value}`);
}

export const registerPid = (pid: number): void => note(registry.pids, '+', 'p', pid);
export const unregisterPid = (pid: number): void => note(registry.pids, '-', 'p', pid);
export const registerDir = (dir: string): void => note(registry.dirs, '+', 'd', dir);
export const unregisterDir = (dir: string): void => note(registry.dirs, '-', 'd', dir);

/** Ports recently handed out by freePort(s) in this process, with the time they were handed out. */
export const recentPorts: Map<number, number> = registry.recentPorts;
