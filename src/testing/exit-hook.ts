/**
 * What a test cluster leaves behind when the process exits without closing it: member processes
 * are killed and data dirs removed from the process's 'exit' event (synchronous work only).
 *
 * The listener goes on the real process object. Jest gives each test file a copy of `process`
 * whose events never fire; `vm.runInThisContext('process')` reaches the real one from inside
 * its sandbox. One listener serves every copy of this module loaded in the process (Jest loads
 * modules again per test file), through a registry kept on that object.
 */
import { rmSync } from 'node:fs';
import vm from 'node:vm';

/** Kills what is still running and removes what was written; synchronous. */
export type ExitCleanup = () => void;

const hostProcess: NodeJS.Process = (() => {
  try {
    const p = vm.runInThisContext('process') as NodeJS.Process | undefined;
    if (p && typeof p.on === 'function' && typeof p.kill === 'function') return p;
  } catch {
    // not reachable: use ours
  }
  return process;
})();

const KEY = Symbol.for('concord-kv.testing.exit-cleanups');

const cleanups: Set<ExitCleanup> = (() => {
  const holder = hostProcess as unknown as Record<symbol, Set<ExitCleanup> | undefined>;
  const existing = holder[KEY];
  if (existing) return existing;
  const created = new Set<ExitCleanup>();
  holder[KEY] = created;
  hostProcess.on('exit', () => {
    for (const cleanup of created) {
      try {
        cleanup();
      } catch {
        // best effort: the process is exiting
      }
    }
    created.clear();
  });
  return created;
})();

/** Runs `cleanup` when the process exits, unless the returned function is called first. */
export function onExit(cleanup: ExitCleanup): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** Removes a directory tree, retrying while a killed process may still be writing in it. */
export function removeDirNow(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  } catch {
    // best effort
  }
}
