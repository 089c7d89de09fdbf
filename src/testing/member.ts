/**
 * One member of a test cluster: a `concord serve` child process (this package's own bin, run by
 * the Node that runs the tests), its last lines of output, and how it is stopped.
 *
 * The child is unref'd (with its pipes), so a test that forgets to close its cluster does not
 * keep the process alive; the cluster's exit hook kills it then. While a caller waits for it to
 * exit, it is ref'd again, so the wait cannot be cut short by an empty event loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `concord` itself, next to this module in the package (dist/src/cli/main.js). */
const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const GUARD = new URL('./orphan-guard.js', import.meta.url).href;
const OUTPUT_LINES = 200;

export interface MemberLaunch {
  name: string;
  dataDir: string;
  /** The cluster's temporary dir (removed by a member whose parent process is gone). */
  root: string;
  /** `concord serve` flags. */
  args: string[];
  /** The member's peer traffic goes through this HTTP CONNECT proxy. */
  peerProxy: string;
  env: Record<string, string | undefined>;
}

export class MemberProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #exit: string | undefined;
  readonly #lines: string[] = [];
  #partial = '';

  constructor(readonly launch: MemberLaunch) {}

  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#exit === undefined;
  }

  /** How the last run ended ("exited with code 1", "killed by SIGKILL"), undefined while running. */
  get exit(): string | undefined {
    return this.#exit;
  }

  /** The last lines the member wrote to stdout and stderr, across restarts. */
  output(): string {
    return [...this.#lines, ...(this.#partial ? [this.#partial] : [])].join('\n');
  }

  start(): void {
    if (this.running) throw new Error(`member ${this.launch.name} is already running`);
    const { env, ...l } = this.launch;
    const childEnv: Record<string, string | undefined> = {
      ...process.env,
      ...env,
      // Peer connections go through the cluster's proxy (see peer-links.ts), whatever proxy the
      // user's environment sets; nothing of the test runner's Node options reaches the member.
      grpc_proxy: l.peerProxy,
      no_grpc_proxy: undefined,
      no_proxy: undefined,
      NODE_OPTIONS: undefined,
      CONCORD_TESTING_ROOT: l.root,
    };
    for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
    if (this.#child) this.#line(`----- restarting ${l.name} -----`);
    const child = spawn(process.execPath, [`--import=${GUARD}`, MAIN, 'serve', ...l.args], {
      env: childEnv as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#exit = undefined;
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
      child.once('error', (err) => {
        this.#exit = `could not start: ${err.message}`;
        resolve();
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.#text(chunk));
    }
    child.stdin?.on('error', () => {});
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr])
      (s as { unref?: () => void } | null)?.unref?.();
  }

  #text(chunk: string): void {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) this.#line(line);
  }

  #line(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > OUTPUT_LINES) this.#lines.splice(0, this.#lines.length - OUTPUT_LINES);
  }

  /** Resolves once the process has exited (at once if it is not running). */
  async exited(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.ref();
    try {
      await this.#exited;
    } finally {
      child.unref();
    }
  }

  /** Sends `signal` and waits for the exit; after `graceMs` a SIGKILL follows. */
  async stop(signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill(signal);
    if (signal === 'SIGKILL') return this.exited();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await this.exited();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Synchronous SIGKILL, for the exit hook. */
  killNow(): void {
    if (this.running) this.#child?.kill('SIGKILL');
  }
}
