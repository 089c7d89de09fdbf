/**
 * Child processes for tests: fixture scripts (test/fixtures/*.mjs, importing the built package)
 * and other commands, with their stdout lines collected and every process killed by
 * `killAll()` (call it in afterEach) so a failing test never leaves one running.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = path.resolve(__dirname, '../..');

/** Builds the package once if `dist/` is missing (npm test builds it before jest runs). */
export function ensureBuilt(): void {
  if (!existsSync(path.join(ROOT, 'dist/recipes/index.js')))
    execSync('npm run build', { cwd: ROOT, stdio: 'ignore' });
}

export interface Spawned {
  child: ChildProcess;
  /** stdout, line by line, as it arrives. */
  lines: string[];
  /** `performance.now()` when each of `lines` arrived. */
  times: number[];
  /** Resolves with the exit code (null when killed by a signal) once the process has exited and all its output is read. */
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

const running = new Set<ChildProcess>();

export function spawnTracked(cmd: string, args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const lines: string[] = [];
  const times: number[] = [];
  let stdout = '';
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    times.push(performance.now());
  });
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) =>
    child.on('close', (code) => {
      running.delete(child);
      r(code);
    }),
  );
  return { child, lines, times, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `test/fixtures/<script>` with node. */
export function spawnFixture(script: string, env: Record<string, string>): Spawned {
  return spawnTracked(process.execPath, [path.join(ROOT, 'test/fixtures', script)], env);
}

/** SIGKILLs every process started here that is still running. */
export function killAll(): void {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
}
