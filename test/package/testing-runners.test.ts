/**
 * The examples of docs/testing.md, run by the three runners as a user runs them: node:test (on
 * the example compiled to dist/examples/testing), Jest (ESM mode, examples/testing/jest.config.mjs)
 * and Vitest. Each example starts one cluster for its file and a 3-member cluster for one test,
 * kills that cluster's leader and writes after it; `await using` and `afterAll` close them.
 *
 * Each runner must pass and then exit by itself within the time limit (a cluster left running
 * would keep node:test's file process and Jest's process alive: they wait for the event loop).
 * Afterwards no member process is left and nothing is left in the temporary dir the runner was
 * given as TMPDIR.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../harness/etcd.js';

const root = process.cwd();
const RUNNER_TIMEOUT_MS = 120_000;
/** Terminal colours, should a runner print them anyway. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

interface Runner {
  name: string;
  args: string[];
}

const RUNNERS: Runner[] = [
  { name: 'node:test', args: ['--test', 'dist/examples/testing/node-test.test.js'] },
  {
    name: 'jest',
    args: [
      '--experimental-vm-modules',
      'node_modules/jest/bin/jest.js',
      '--config',
      'examples/testing/jest.config.mjs',
      '--ci',
    ],
  },
  { name: 'vitest', args: ['node_modules/vitest/vitest.mjs', 'run', 'examples/testing/vitest.test.ts'] },
];

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/examples/testing/node-test.test.js'))) {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: root });
  }
}, 120_000);

/** Pids of processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

function runUntilExit(args: string[], tmp: string): Promise<Finished> {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, CI: 'true', NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  // This test runs inside a Jest worker: the runner under test must not think it is one.
  delete env.JEST_WORKER_ID;
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const s of [child.stdout, child.stderr]) s.on('data', (d: Buffer) => (output += d.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, RUNNER_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolve({ code, signal, output: output.replace(ANSI, ''), timedOut }));
    });
  });
}

test.each(RUNNERS)(
  '$name: the example passes, and the runner exits by itself leaving nothing behind',
  async ({ args }) => {
    const tmp = mkdtempSync(join(tmpdir(), 'concord-runner-'));
    try {
      const r = await runUntilExit(args, tmp);
      expect({
        timedOut: r.timedOut,
        code: r.code,
        tail: r.timedOut || r.code ? r.output.slice(-3000) : '',
      }).toEqual({
        timedOut: false,
        code: 0,
        tail: '',
      });
      // Both tests ran (node:test "# pass 2", Jest "Tests: 2 passed", Vitest "Tests  2 passed").
      expect(r.output).toMatch(/# pass 2|Tests:\s+2 passed|Tests\s+2 passed/);
      expect(r.output).not.toMatch(/did not exit|close timed out|prevents .* from exiting/);
      await waitFor(() => processesMentioning(tmp).length === 0, {
        timeoutMs: 5000,
        what: `member processes under ${tmp} to be gone`,
      });
      const left = readdirSync(tmp).filter((f) => f.startsWith('concord-test-'));
      expect(left).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
  RUNNER_TIMEOUT_MS + 30_000,
);

test('docs/testing.md shows the examples as they are run', () => {
  const doc = readFileSync(join(root, 'docs/testing.md'), 'utf8');
  for (const file of ['node-test.test.ts', 'jest.test.ts', 'vitest.test.ts', 'jest.config.mjs']) {
    const code = readFileSync(join(root, 'examples/testing', file), 'utf8');
    // The file less its header comment.
    const body = code.slice(code.indexOf('*/') + 2).trim();
    expect({ file, shown: doc.includes(body) }).toEqual({ file, shown: true });
  }
});
