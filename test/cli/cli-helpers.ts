/**
 * The `concord` command as a user runs it: `node dist/src/cli/main.js …` in a child process,
 * on free loopback ports and temp dirs, every process killed and every dir removed by
 * `cleanup()` (call it in afterEach), and nothing waited for without a timeout.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureServerBuilt, MAIN } from '../harness/concord.js';
import { freePort, waitFor, withTimeout } from '../harness/etcd.js';
import { killAll, type Spawned, spawnTracked } from '../harness/fixtures.js';

export { ensureServerBuilt, MAIN };

const dirs: string[] = [];

export async function tempDir(prefix = 'concord-cli-'): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export async function cleanup(): Promise<void> {
  killAll();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** The frame of a file that runs `concord`: dist/ built first, and `cleanup()` after each test. */
export function cliSuite(): void {
  beforeAll(() => ensureServerBuilt(), 120_000);
  afterEach(cleanup);
}

/** Runs `concord <args>` to its end: exit code, stdout, stderr. */
export async function run(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnTracked(process.execPath, [MAIN, ...args], env);
  const code = await withTimeout(p.exited, timeoutMs, `concord ${args.join(' ')}`);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Two free ports for a member: client and peer. */
export async function ports(): Promise<{ client: number; peer: number }> {
  const client = await freePort();
  let peer = await freePort();
  while (peer === client) peer = await freePort();
  return { client, peer };
}

/** `serve --data-dir <dataDir>` on a member's loopback client and peer ports, then `extra`. */
export function serveArgs(
  dataDir: string,
  { client, peer }: { client: number; peer: number },
  ...extra: string[]
) {
  return [
    'serve',
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    `http://127.0.0.1:${client}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${peer}`,
    ...extra,
  ];
}

/** Starts `concord <args>` and waits for its ready line on stdout (fails with its stderr if it exits). */
export async function startReady(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Spawned> {
  const p = spawnTracked(process.execPath, [MAIN, ...args], env);
  let exited = false;
  p.exited.then(() => {
    exited = true;
  });
  await waitFor(
    () => {
      if (exited) throw new Error(`concord exited before it was ready:\n${p.stderr()}`);
      return p.lines.some((l) => l.includes('ready to serve client requests on'));
    },
    { timeoutMs, what: `concord ${args.join(' ')} to be ready` },
  );
  return p;
}

/** Sends SIGTERM and waits for the exit code. */
export async function stop(p: Spawned): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill('SIGTERM');
  return withTimeout(p.exited, 15_000, 'concord to exit after SIGTERM');
}

/** stderr's lines parsed as JSON (throws on a line that is not JSON). */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
}
