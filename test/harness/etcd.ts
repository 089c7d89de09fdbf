/**
 * Test harness that runs real etcd clusters (Debian's etcd 3.4 by default) on 127.0.0.1.
 *
 *   const cluster = await startEtcd({ members: 3 });
 *   try {
 *     const leader = await cluster.leaderIndex();
 *     await cluster.kill(leader);
 *     ...
 *   } finally {
 *     await cluster.close();
 *   }
 *
 * Cleanup layers, so that a crashed test never leaves etcd running:
 *   1. `cluster.close()` (SIGKILL, wait for exit, remove the temp dir);
 *   2. every spawned pid / temp dir is recorded in a registry, and a `process.on('exit')` hook on the *host*
 *      process kills/removes whatever is left (Jest gives each test file a fake `process` whose 'exit' event
 *      never fires, so the hook is attached to the real one);
 *   3. a tiny watchdog process reads the registry over a pipe and cleans up when that pipe closes, which also
 *      covers a Jest worker being SIGTERM'ed/SIGKILL'ed (no 'exit' event then). Disable with
 *      HARNESS_NO_WATCHDOG=1.
 *
 * Environment: ETCD_BIN / ETCDCTL_BIN override the binaries; HARNESS_VERBOSE=1 mirrors member logs to stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

export const ETCD_BIN = process.env.ETCD_BIN || 'etcd';
export const ETCDCTL_BIN = process.env.ETCDCTL_BIN || 'etcdctl';
const VERBOSE = process.env.HARNESS_VERBOSE === '1';
const LOG_LINES = 200;

// ---------------------------------------------------------------------------------------------------------
// Generic helpers
// ---------------------------------------------------------------------------------------------------------

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with `Timed out after <ms>ms: <what>` unless `p` settles first. The timer never outlives `p`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms}ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface WaitForOptions {
  /** Default 10 000. */
  timeoutMs?: number;
  /** Delay between attempts. Default 100. */
  intervalMs?: number;
  /** Description used in the timeout error. */
  what?: string;
}

/**
 * Polls `cond` until it returns true. A throwing/rejecting `cond` counts as "not yet"; its last error is
 * reported in the timeout error.
 */
export async function waitFor(
  cond: () => Promise<boolean> | boolean,
  { timeoutMs = 10_000, intervalMs = 100, what = 'condition' }: WaitForOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const remaining = Math.max(1, deadline - Date.now());
      if (await withTimeout(Promise.resolve(cond()), remaining, what)) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError === undefined ? '' : ` (last error: ${errorMessage(lastError)})`;
      throw new Error(`Timed out after ${timeoutMs}ms waiting for ${what}${detail}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------------------------
// Process registry, exit hook and watchdog
// ---------------------------------------------------------------------------------------------------------

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

function registerPid(pid: number): void {
  registry.pids.add(pid);
  tellWatchdog(`+p ${pid}`);
}

function unregisterPid(pid: number): void {
  registry.pids.delete(pid);
  tellWatchdog(`-p ${pid}`);
}

function registerDir(dir: string): void {
  registry.dirs.add(dir);
  tellWatchdog(`+d ${dir}`);
}

function unregisterDir(dir: string): void {
  registry.dirs.delete(dir);
  tellWatchdog(`-d ${dir}`);
}

// ---------------------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------------------

const RECENT_PORT_MS = 120_000;

function listenEphemeral(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(server));
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * `n` distinct currently-free ports on 127.0.0.1 (all held open at once, so they differ), avoiding ports this
 * process handed out in the last two minutes. Another process may still grab one before it is bound: callers
 * retry on "address already in use" (startEtcd does).
 */
export async function freePorts(n: number): Promise<number[]> {
  const held: net.Server[] = [];
  const ports: number[] = [];
  const now = Date.now();
  for (const [port, at] of registry.recentPorts)
    if (now - at > RECENT_PORT_MS) registry.recentPorts.delete(port);
  try {
    let attempts = 0;
    while (ports.length < n) {
      if (++attempts > n + 200) throw new Error(`freePorts: could not find ${n} fresh ports`);
      const server = await listenEphemeral();
      held.push(server);
      const port = (server.address() as net.AddressInfo).port;
      if (!registry.recentPorts.has(port)) ports.push(port);
    }
  } finally {
    await Promise.all(held.map(closeServer));
  }
  for (const port of ports) registry.recentPorts.set(port, now);
  return ports;
}

/** A currently free TCP port on 127.0.0.1 (listen on port 0, then close). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** Whether `port` on 127.0.0.1 can be listened on now. */
function bindable(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * A base port whose next `n` ports are all free now, for a command that takes a base port and
 * counts up from it (`concord dev --base-port`): one free port says nothing of those after it.
 */
export async function freePortRun(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + n > 65535) continue;
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await bindable(p);
    if (ok) return base;
  }
  throw new Error(`freePortRun: no run of ${n} free ports`);
}

function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------------------
// HTTP (no keep-alive agent: nothing pooled survives a test)
// ---------------------------------------------------------------------------------------------------------

/** CA and client certificate for https:// requests (a cluster started with `tls`). */
interface HttpTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function httpRequest(
  url: string,
  {
    method = 'GET',
    body,
    timeoutMs = 2000,
    tls,
  }: { method?: string; body?: string; timeoutMs?: number; tls?: HttpTls } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = {};
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const request = url.startsWith('https:') ? https.request : http.request;
    const req = request(url, { method, headers, agent: false, ...tls }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        data += chunk;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: data });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    // Overall deadline: a SIGSTOPped member accepts the TCP connection but never answers.
    const timer = setTimeout(
      () => req.destroy(new Error(`timed out after ${timeoutMs}ms: ${method} ${url}`)),
      timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

async function postJson<T>(url: string, payload: unknown, timeoutMs = 2000, tls?: HttpTls): Promise<T> {
  const res = await httpRequest(url, { method: 'POST', body: JSON.stringify(payload), timeoutMs, tls });
  if (res.status !== 200) throw new Error(`POST ${url}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as T;
}

/** `/v3/maintenance/status` via the grpc-gateway (uint64 fields are JSON strings). */
interface StatusResponse {
  header?: { cluster_id?: string; member_id?: string; raft_term?: string };
  leader?: string;
  raftTerm?: string;
}

interface MemberListResponse {
  members?: { ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[] }[];
}

// ---------------------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------------------

/** Keeps the last `max` lines; `total` counts every line ever added, so callers can ask for "lines since". */
class LogRing {
  private readonly lines: string[] = [];
  private partial = '';
  total = 0;

  constructor(private readonly max: number) {}

  write(chunk: string, onLine?: (line: string) => void): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.add(line);
      onLine?.(line);
    }
  }

  add(line: string): void {
    this.lines.push(line);
    this.total++;
    if (this.lines.length > this.max) this.lines.shift();
  }

  /** Flush a trailing partial line (called when a process exits). */
  flush(onLine?: (line: string) => void): void {
    if (this.partial) {
      const line = this.partial;
      this.partial = '';
      this.add(line);
      onLine?.(line);
    }
  }

  text(sinceTotal = 0): string {
    const first = this.total - this.lines.length;
    const lines = this.lines.slice(Math.max(0, sinceTotal - first));
    if (this.partial) lines.push(this.partial);
    return lines.join('\n');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Members
// ---------------------------------------------------------------------------------------------------------

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

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

interface Run {
  child: ChildProcess;
  pid: number;
  /** Value of the log ring's `total` when this run started. */
  logStart: number;
  exit: ExitInfo | undefined;
  exited: Promise<ExitInfo>;
}

function describeExit(info: ExitInfo | undefined): string {
  if (!info) return 'running';
  if (info.error) return `failed to spawn: ${info.error.message}`;
  return info.signal ? `killed by ${info.signal}` : `exited with code ${info.code}`;
}

class Member implements EtcdMember {
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

// ---------------------------------------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------------------------------------

/**
 * TLS for a cluster, with etcd's flags: the client port is https:// (`--cert-file`, `--key-file`,
 * `--trusted-ca-file`, optionally `--client-cert-auth`); with `peer`, the peer port too (the
 * same files as `--peer-*`, and `--peer-client-cert-auth`). The harness's own requests and
 * `etcdctl()` use `caFile` and the client certificate.
 */
export interface TlsSetup {
  caFile: string;
  /** Every member's certificate (IP SAN 127.0.0.1) and key, for both ports. */
  certFile: string;
  keyFile: string;
  /** The harness's and etcdctl's client certificate (required with clientCertAuth). */
  clientCertFile?: string;
  clientKeyFile?: string;
  clientCertAuth?: boolean;
  /** https:// peer URLs with mutual TLS (--peer-client-cert-auth). */
  peer?: boolean;
}

function tlsArgs(t: TlsSetup): string[] {
  const client = ['--cert-file', t.certFile, '--key-file', t.keyFile, '--trusted-ca-file', t.caFile];
  if (t.clientCertAuth) client.push('--client-cert-auth');
  const peer = t.peer
    ? [
        '--peer-cert-file',
        t.certFile,
        '--peer-key-file',
        t.keyFile,
        '--peer-trusted-ca-file',
        t.caFile,
        '--peer-client-cert-auth',
      ]
    : [];
  return [...client, ...peer];
}

export interface StartEtcdOptions {
  /** TLS on the client port (and the peer port with `tls.peer`). */
  tls?: TlsSetup;
  members?: 1 | 3 | 5;
  /** Prefix for member names (`<name>-0`, `<name>-1`, …), the temp dir and the cluster token. Default "etcd". */
  name?: string;
  /** Appended to every member's command line (also on restart). */
  extraArgs?: string[];
  /** The server binary (default ETCD_BIN): a test may start Concord through its etcd-flag wrapper. */
  bin?: string;
  /** `--heartbeat-interval`, default 50 ms. */
  heartbeatMs?: number;
  /** `--election-timeout`, default 500 ms. */
  electionMs?: number;
  /** How long to wait for all members to report healthy, per attempt. Default 20 000 ms. */
  startTimeoutMs?: number;
  /** Attempts with fresh ports when a port turns out to be taken. Default 4. */
  maxAttempts?: number;
  /** Extra environment of every member process (also on restart, unless the restart sets its own). */
  env?: Record<string, string>;
  /**
   * The peer URL member `index` advertises (and the others dial), given the port it listens on:
   * a test puts a proxy there (test/fault). Default: the listen URL. Called once per start attempt.
   */
  advertisePeerUrl?: (index: number, peerPort: number) => string | Promise<string>;
}

export interface RestartOptions {
  /** 'healthy' (default): wait for `/health` = true. 'listening': only wait until the client port accepts. */
  wait?: 'healthy' | 'listening';
  /** Default 20 000 ms. */
  timeoutMs?: number;
  /** The environment of this run, in place of StartEtcdOptions.env. */
  env?: Record<string, string>;
}

export interface EtcdctlOptions {
  /** Endpoints to pass as `--endpoints` (default: all members' endpoints). */
  endpoints?: string[];
  /** Written to etcdctl's stdin. */
  input?: string;
  /** Kill etcdctl (SIGKILL) after this long. Default 15 000 ms. */
  timeoutMs?: number;
  /** Extra environment (ETCDCTL_* from the parent environment are dropped, ETCDCTL_API=3 is set). */
  env?: Record<string, string>;
  /** Throw (with stdout/stderr) unless etcdctl exits with code 0. */
  check?: boolean;
}

export interface EtcdctlResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null if etcdctl was killed by a signal (e.g. on timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

export interface EtcdCluster {
  /** The temp dir holding every member's data dir; removed by close(). */
  readonly dir: string;
  /** `--initial-cluster-token`, unique per cluster. */
  readonly token: string;
  /** `127.0.0.1:<port>` of every member (alive or not), in member order. */
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  /** Endpoints of members that are running and not paused. */
  liveEndpoints(): string[];
  /** Sends `signal` to member i and resolves once it has exited. No-op if it is not running. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts a killed member again on the same ports and data dir (`--initial-cluster-state existing`), retrying
   * if its port is briefly taken. Throws (with its logs) if it exits or is not ready within the timeout; in the
   * latter case it is left running.
   */
  restart(i: number, opts?: RestartOptions): Promise<void>;
  /** SIGSTOP member i. */
  pause(i: number): Promise<void>;
  /** SIGCONT member i. */
  resume(i: number): Promise<void>;
  /** Whether member i's `/health` currently returns {"health":"true"}. */
  isHealthy(i: number): Promise<boolean>;
  /** Waits until the given members (default: all) are healthy. */
  waitHealthy(opts?: { members?: number[]; timeoutMs?: number }): Promise<void>;
  /**
   * Index of the member that is leader according to itself (status `header.member_id === leader`), among
   * running, non-paused members; the one with the highest raft term wins if several claim it. Polls until
   * one is found, throwing after `timeoutMs` (default max(5 s, 10 × election timeout)).
   */
  leaderIndex(opts?: { timeoutMs?: number }): Promise<number>;
  /** Runs `etcdctl --endpoints=<endpoints> ...args` with ETCDCTL_API=3 (and the TLS flags with `tls`). */
  etcdctl(args: string[], opts?: EtcdctlOptions): Promise<EtcdctlResult>;
  /** All members' recent logs, with headers. */
  logs(): string;
  /** SIGKILLs every member, waits for exit and removes the temp dir. Idempotent. */
  close(): Promise<void>;
}

class EtcdStartError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'EtcdStartError';
  }
}

const ADDR_IN_USE = /address already in use/i;

class Cluster implements EtcdCluster {
  readonly endpoints: string[];
  private closing: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly token: string,
    readonly members: Member[],
    private readonly heartbeatMs: number,
    private readonly electionMs: number,
    private readonly extraArgs: string[],
    private readonly tls?: TlsSetup,
    private readonly env: Record<string, string> | undefined = undefined,
  ) {
    this.endpoints = members.map((m) => m.endpoint);
    if (tls)
      this.httpTls = {
        ca: readFileSync(tls.caFile),
        cert: tls.clientCertFile ? readFileSync(tls.clientCertFile) : undefined,
        key: tls.clientKeyFile ? readFileSync(tls.clientKeyFile) : undefined,
      };
  }

  private readonly httpTls: HttpTls | undefined;

  private member(i: number): Member {
    const m = this.members[i];
    if (!m) throw new Error(`no etcd member #${i} (cluster has ${this.members.length})`);
    return m;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('etcd cluster is closed');
  }

  private args(m: Member, state: 'new' | 'existing'): string[] {
    const initialCluster = this.members.map((x) => `${x.name}=${x.advertisedPeerUrl}`).join(',');
    return [
      '--name',
      m.name,
      '--data-dir',
      m.dataDir,
      '--listen-client-urls',
      m.clientUrl,
      '--advertise-client-urls',
      m.clientUrl,
      '--listen-peer-urls',
      m.peerUrl,
      '--initial-advertise-peer-urls',
      m.advertisedPeerUrl,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-state',
      state,
      '--initial-cluster-token',
      this.token,
      '--heartbeat-interval',
      String(this.heartbeatMs),
      '--election-timeout',
      String(this.electionMs),
      '--logger',
      'zap',
      '--log-outputs',
      'stderr',
      ...(this.tls ? tlsArgs(this.tls) : []),
      ...this.extraArgs,
    ];
  }

  logs(members: Member[] = this.members, runOnly = false): string {
    return members
      .map((m) => {
        const header = `----- ${m.name} (${m.endpoint}, pid ${m.pid}, ${describeExit(m.run?.exit)}) -----`;
        return `${header}\n${runOnly ? m.runLogs() : m.logs()}`;
      })
      .join('\n');
  }

  private startError(message: string, members: Member[] = this.members): EtcdStartError {
    const retryable = members.some((m) => ADDR_IN_USE.test(m.runLogs()));
    return new EtcdStartError(`${message}\n${this.logs(members, true)}`, retryable);
  }

  /** Starts every member and waits until all are healthy; throws EtcdStartError (processes left running). */
  async boot(timeoutMs: number): Promise<void> {
    for (const m of this.members) m.start(this.args(m, 'new'), this.env);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const dead = this.members.filter((m) => !m.alive);
      if (dead.length > 0) {
        const what = dead.map((m) => `${m.name} ${describeExit(m.run?.exit)}`).join(', ');
        throw this.startError(`etcd failed to start: ${what}`);
      }
      const healthy = await Promise.all(this.members.map((m) => this.isHealthy(m.index)));
      if (healthy.every(Boolean)) break;
      if (Date.now() >= deadline) {
        const sick = this.members.filter((_, i) => !healthy[i]).map((m) => m.name);
        throw this.startError(
          `etcd cluster not healthy after ${timeoutMs}ms (unhealthy: ${sick.join(', ')})`,
        );
      }
      await sleep(100);
    }
    await this.verifyMembership();
  }

  /**
   * Makes sure each client port is served by *our* process (a port stolen by another cluster could otherwise
   * answer the health check), and learns the member IDs.
   */
  private async verifyMembership(): Promise<void> {
    const expected = this.members.map((m) => `${m.name}=${m.advertisedPeerUrl}`).sort();
    for (const m of this.members) {
      let list: MemberListResponse;
      try {
        list = await postJson<MemberListResponse>(
          `${m.clientUrl}/v3/cluster/member/list`,
          {},
          2000,
          this.httpTls,
        );
      } catch (err) {
        throw this.startError(`member list from ${m.name} failed: ${errorMessage(err)}`);
      }
      const got = (list.members ?? []).map((x) => `${x.name}=${(x.peerURLs ?? []).join(',')}`).sort();
      if (got.join(' ') !== expected.join(' ') || !m.alive) {
        const err = this.startError(
          `${m.endpoint} is not serving this cluster: expected [${expected.join(' ')}], got [${got.join(' ')}]`,
        );
        throw new EtcdStartError(err.message, true);
      }
      for (const x of list.members ?? []) {
        const target = this.members.find((y) => y.name === x.name);
        if (target && x.ID) target.id = x.ID;
      }
    }
  }

  liveEndpoints(): string[] {
    return this.members.filter((m) => m.alive && !m.paused).map((m) => m.endpoint);
  }

  async isHealthy(i: number): Promise<boolean> {
    const m = this.member(i);
    if (!m.alive || m.paused) return false;
    try {
      const res = await httpRequest(`${m.clientUrl}/health`, { timeoutMs: 2000, tls: this.httpTls });
      return (JSON.parse(res.body) as { health?: unknown }).health === 'true';
    } catch {
      return false;
    }
  }

  async waitHealthy({ members, timeoutMs = 20_000 }: { members?: number[]; timeoutMs?: number } = {}) {
    const indices = members ?? this.members.map((m) => m.index);
    try {
      await waitFor(async () => (await Promise.all(indices.map((i) => this.isHealthy(i)))).every(Boolean), {
        timeoutMs,
        intervalMs: 100,
        what: `etcd members ${indices.map((i) => this.member(i).name).join(', ')} to be healthy`,
      });
    } catch (err) {
      throw new Error(`${errorMessage(err)}\n${this.logs(indices.map((i) => this.member(i)))}`);
    }
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.member(i).kill(signal);
  }

  async restart(
    i: number,
    { wait = 'healthy', timeoutMs = 20_000, env = this.env }: RestartOptions = {},
  ): Promise<void> {
    this.assertOpen();
    const m = this.member(i);
    if (m.alive) throw new Error(`etcd member ${m.name} is still running (pid ${m.pid}); kill it first`);
    const maxAttempts = 3;
    for (let attempt = 1; ; attempt++) {
      m.start(this.args(m, 'existing'), env);
      const deadline = Date.now() + timeoutMs;
      let failure: string | undefined;
      for (;;) {
        if (!m.alive) {
          failure = `etcd member ${m.name} ${describeExit(m.run?.exit)} after restart`;
          break;
        }
        const ready = wait === 'healthy' ? await this.isHealthy(i) : await canConnect(m.clientPort);
        if (ready && m.alive) return;
        if (Date.now() >= deadline) {
          failure = `etcd member ${m.name} not ${wait} ${timeoutMs}ms after restart`;
          break;
        }
        await sleep(100);
      }
      const retryable = !m.alive && ADDR_IN_USE.test(m.runLogs());
      if (retryable && attempt < maxAttempts) {
        await sleep(250 * attempt);
        continue;
      }
      throw new Error(`${failure}\n${this.logs([m], true)}`);
    }
  }

  async pause(i: number): Promise<void> {
    const m = this.member(i);
    if (!m.alive || !m.run) throw new Error(`cannot pause ${m.name}: not running`);
    m.run.child.kill('SIGSTOP');
    m.paused = true;
    await waitProcState(m.pid, (s) => s === 'T' || s === 't');
  }

  async resume(i: number): Promise<void> {
    const m = this.member(i);
    if (!m.alive || !m.run) throw new Error(`cannot resume ${m.name}: not running`);
    m.run.child.kill('SIGCONT');
    m.paused = false;
    await waitProcState(m.pid, (s) => s !== 'T' && s !== 't');
  }

  private async leaderOnce(): Promise<{ index: number; report: string }> {
    const candidates = this.members.filter((m) => m.alive && !m.paused);
    const statuses = await Promise.all(
      candidates.map((m) =>
        postJson<StatusResponse>(`${m.clientUrl}/v3/maintenance/status`, {}, 1500, this.httpTls).then(
          (s) => ({ m, s, err: undefined }),
          (err: unknown) => ({ m, s: undefined, err }),
        ),
      ),
    );
    let best: { index: number; term: bigint } | undefined;
    const report: string[] = [];
    for (const { m, s, err } of statuses) {
      if (!s) {
        report.push(`${m.name}: ${errorMessage(err)}`);
        continue;
      }
      const self = s.header?.member_id;
      if (self && self !== '0') m.id = self;
      const term = BigInt(s.raftTerm ?? s.header?.raft_term ?? '0');
      report.push(`${m.name}: id=${self} leader=${s.leader} term=${term}`);
      if (self && s.leader === self && (!best || term > best.term)) best = { index: m.index, term };
    }
    return { index: best ? best.index : -1, report: report.join('; ') || 'no live members' };
  }

  async leaderIndex({ timeoutMs = Math.max(5000, 10 * this.electionMs) }: { timeoutMs?: number } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { index, report } = await this.leaderOnce();
      if (index >= 0) return index;
      if (Date.now() >= deadline) throw new Error(`no etcd leader after ${timeoutMs}ms (${report})`);
      await sleep(50);
    }
  }

  async etcdctl(args: string[], opts: EtcdctlOptions = {}): Promise<EtcdctlResult> {
    const endpoints = opts.endpoints ?? this.endpoints;
    const t = this.tls;
    const tlsFlags = t
      ? [
          `--cacert=${t.caFile}`,
          ...(t.clientCertFile ? [`--cert=${t.clientCertFile}`, `--key=${t.clientKeyFile}`] : []),
        ]
      : [];
    return runEtcdctl([`--endpoints=${endpoints.join(',')}`, ...tlsFlags, ...args], opts);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await Promise.all(this.members.map((m) => m.kill('SIGKILL')));
        await rm(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
        unregisterDir(this.dir);
      })();
    }
    return this.closing;
  }
}

/** Waits (≤1 s, Linux /proc only, best effort) until the process state letter satisfies `ok`. */
async function waitProcState(pid: number, ok: (state: string) => boolean): Promise<void> {
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

/** Runs etcdctl with ETCDCTL_API=3 (any inherited ETCDCTL_* variables are dropped). */
export function runEtcdctl(args: string[], opts: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  const { input, timeoutMs = 15_000, check = false } = opts;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_')) env[k] = v;
  Object.assign(env, { ETCDCTL_API: '3' }, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(ETCDCTL_BIN, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const pid = child.pid ?? -1;
    if (pid > 0) registerPid(pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      if (pid > 0) return; // a running process' errors are followed by 'close'
      clearTimeout(timer);
      reject(new Error(`cannot run ${ETCDCTL_BIN}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pid > 0) unregisterPid(pid);
      const result: EtcdctlResult = { stdout, stderr, code, signal, timedOut };
      if (check && code !== 0) {
        const why = timedOut
          ? `timed out after ${timeoutMs}ms`
          : `code ${code}${signal ? ` (${signal})` : ''}`;
        reject(new Error(`etcdctl ${args.join(' ')} failed: ${why}\nstdout: ${stdout}\nstderr: ${stderr}`));
      } else {
        resolve(result);
      }
    });
  });
}

/**
 * Starts an etcd cluster of 1, 3 or 5 members on fresh 127.0.0.1 ports in a new temp dir and waits until
 * every member is healthy. If a port turns out to be taken (e.g. by a concurrently running Jest worker) the
 * attempt is torn down and retried with new ports. On failure, throws an Error containing the members' logs,
 * with everything killed and removed.
 */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const n = opts.members ?? 1;
  if (n !== 1 && n !== 3 && n !== 5) throw new Error(`members must be 1, 3 or 5 (got ${n})`);
  const name = opts.name ?? 'etcd';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    throw new Error(`invalid cluster name ${JSON.stringify(name)}`);
  const heartbeatMs = opts.heartbeatMs ?? 50;
  const electionMs = opts.electionMs ?? 500;
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 4);

  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), `concord-${name}-`));
    registerDir(dir);
    const token = `${name}-${process.pid}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    let cluster: Cluster | undefined;
    try {
      const ports = await freePorts(2 * n);
      const members = Array.from(
        { length: n },
        (_, i) =>
          new Member(
            i,
            `${name}-${i}`,
            ports[2 * i]!,
            ports[2 * i + 1]!,
            path.join(dir, `${name}-${i}`),
            opts.bin,
            opts.tls,
          ),
      );
      if (opts.advertisePeerUrl)
        for (const m of members) m.advertisedPeerUrl = await opts.advertisePeerUrl(m.index, m.peerPort);
      cluster = new Cluster(
        dir,
        token,
        members,
        heartbeatMs,
        electionMs,
        opts.extraArgs ?? [],
        opts.tls,
        opts.env,
      );
      await cluster.boot(startTimeoutMs);
      return cluster;
    } catch (err) {
      if (cluster) await cluster.close();
      else {
        await rm(dir, { recursive: true, force: true });
        unregisterDir(dir);
      }
      if (err instanceof EtcdStartError && err.retryable && attempt < maxAttempts) continue;
      if (err instanceof EtcdStartError && attempt > 1) err.message = `(attempt ${attempt}) ${err.message}`;
      throw err;
    }
  }
}
