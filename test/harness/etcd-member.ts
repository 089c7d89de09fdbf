/** One member process of a test cluster: started, logged, killed and restarted by the harness. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { TlsSetup } from './etcd-tls.js';
import { LogRing } from './log-ring.js';
import { registerPid, unregisterPid } from './process-registry.js';
import { sleep, withTimeout } from './wait.js';

export const ETCD_BIN = process.env.ETCD_BIN || 'etcd';
const VERBOSE = process.env.HARNESS_VERBOSE === '1';
const LOG_LINES = 200;

export interface EtcdMember {
  readonly index: number;
  /** etcd `--name`. */
  readonly name: string;
  /** `http://127.0.0.1:<clientPort>` (`https://` with `tls`) */
  readonly clientUrl: string;
  /** `127.0.0.1:<clientPort>` (no scheme), as gRPC clients want it. */
  readonly endpoint: string;
  readonly clientPort: number;
  /** `http://127.0.0.1:<peerPort>` (`https://` with `tls.peer`): where the member listens for peers. */
  readonly peerUrl: string;
  /** The peer URL other members dial (peerUrl unless StartEtcdOptions.advertisePeerUrl says otherwise). */
  readonly advertisedPeerUrl: string;
  readonly peerPort: number;
  readonly dataDir: string;
  /** etcd member ID (decimal string, as the JSON gateway prints it), known once the cluster has started. */
  readonly id: string | undefined;
  /** PID of the most recently started process (stays set after it exits; -1 if spawning failed). */
  readonly pid: number;
  /** True while the most recently started process has not exited (a paused process is alive). */
  readonly alive: boolean;
  /** True between pause() and resume(). */
  readonly paused: boolean;
  /** The last ~200 lines of this member's stdout/stderr, across restarts. */
  logs(): string;
  /** The log lines of the current run only. */
  runLogs(): string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface Run {
  child: ChildProcess;
  pid: number;
  /** Value of the log ring's `total` when this run started. */
  logStart: number;
  exit: ExitInfo | undefined;
  exited: Promise<ExitInfo>;
}

export function describeExit(info: ExitInfo | undefined): string {
  if (!info) return 'running';
  if (info.error) return `failed to spawn: ${info.error.message}`;
  return info.signal ? `killed by ${info.signal}` : `exited with code ${info.code}`;
}

export class Member implements EtcdMember {
  id: string | undefined;
  paused = false;
  run: Run | undefined;
  readonly clientUrl: string;
  readonly endpoint: string;
  readonly peerUrl: string;
  advertisedPeerUrl: string;
  private readonly ring = new LogRing(LOG_LINES);

  constructor(
    readonly index: number,
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    readonly bin: string = ETCD_BIN,
    tls?: TlsSetup,
  ) {
    this.endpoint = `127.0.0.1:${clientPort}`;
    this.clientUrl = `${tls ? 'https' : 'http'}://${this.endpoint}`;
    this.peerUrl = `${tls?.peer ? 'https' : 'http'}://127.0.0.1:${peerPort}`;
    this.advertisedPeerUrl = this.peerUrl;
  }

  get pid(): number {
    return this.run?.pid ?? -1;
  }

  get alive(): boolean {
    return this.run !== undefined && this.run.exit === undefined;
  }

  logs(): string {
    return this.ring.text();
  }

  /** Log lines of the current run only. */
  runLogs(): string {
    return this.ring.text(this.run?.logStart ?? 0);
  }

  start(args: string[], env?: Record<string, string>): void {
    if (this.alive) throw new Error(`etcd member ${this.name} is already running (pid ${this.pid})`);
    this.paused = false;
    const echo = VERBOSE ? (line: string) => process.stderr.write(`[${this.name}] ${line}\n`) : undefined;
    if (this.run) this.ring.add(`----- [harness] restarting ${this.name} -----`);
    const logStart = this.ring.total;
    const child = spawn(this.bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ? { ...process.env, ...env } : process.env,
    });
    const pid = child.pid ?? -1;
    if (pid > 0) registerPid(pid);
    let resolveExit!: (info: ExitInfo) => void;
    const run: Run = {
      child,
      pid,
      logStart,
      exit: undefined,
      exited: new Promise<ExitInfo>((resolve) => {
        resolveExit = resolve;
      }),
    };
    const finish = (info: ExitInfo) => {
      if (run.exit) return;
      run.exit = info;
      if (run === this.run) this.paused = false;
      if (pid > 0) unregisterPid(pid);
      this.ring.flush(echo);
      this.ring.add(`----- [harness] ${this.name} (pid ${pid}) ${describeExit(info)} -----`);
      resolveExit(info);
    };
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.ring.write(chunk, echo));
      // A cluster a test forgot to close must not keep the test process alive (the exit hook then kills it).
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
    child.unref();
    child.on('exit', (code, signal) => finish({ code, signal }));
    child.on('error', (error) => {
      // 'error' without a pid means the spawn itself failed and no 'exit' will follow.
      if (pid <= 0) finish({ code: null, signal: null, error });
      else this.ring.add(`[harness] process error: ${error.message}`);
    });
    this.run = run;
  }

  /** Sends `signal` and resolves once the process has exited (escalating to SIGKILL after `timeoutMs`). */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 10_000): Promise<void> {
    const run = this.run;
    if (!run || run.exit) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      throw new Error(`kill(${signal}) would not terminate ${this.name}: use pause()/resume()`);
    }
    run.child.kill(signal);
    // A stopped process only acts on a catchable signal once continued.
    if (this.paused && signal !== 'SIGKILL') run.child.kill('SIGCONT');
    try {
      await withTimeout(run.exited, timeoutMs, `${this.name} to exit after ${signal}`);
    } catch {
      run.child.kill('SIGKILL');
      await run.exited;
    }
  }
}

/** Waits (≤1 s, Linux /proc only, best effort) until the process state letter satisfies `ok`. */
export async function waitProcState(pid: number, ok: (state: string) => boolean): Promise<void> {
  const deadline = Date.now() + 1000;
  while (Date.now() < deadline) {
    let state: string | undefined;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return;
    }
    if (ok(state)) return;
    await sleep(5);
  }
}
