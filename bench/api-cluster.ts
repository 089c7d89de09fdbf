/**
 * Starts a local cluster for `npm run bench`: real etcd or `concord serve`, 1 or 3 members, on
 * free 127.0.0.1 ports in a temp dir, both with exactly the same etcd command line so that the
 * two columns of the report differ only in the server. (The test harness's startEtcd is not
 * reused: it only runs etcd binaries and tunes heartbeat/election for fast tests, which a
 * benchmark must not.)
 *
 * Everything started here is recorded; `closeAll()`, the process 'exit' hook and SIGINT/SIGTERM
 * kill what is left and remove the temp dirs, so an interrupted or failed run leaves nothing.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { healthy } from './api-metrics.js';

export type Target = 'etcd' | 'concord';

export const ETCD_BIN = process.env.ETCD_BIN || 'etcd';
/** The built server next to this compiled file (dist/bench → dist/src/cli/main.js). */
const CONCORD_MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const LOG_LINES = 60;

export interface LocalCluster {
  readonly target: Target;
  readonly endpoints: string[];
  /** CPU time the members have used so far, in seconds (NaN where /proc is not readable). */
  cpuSeconds(): number;
  /** Each member's resident set size now, in bytes (NaN where /proc is not readable). */
  rssBytes(): number[];
  close(): Promise<void>;
}

/** Linux reports utime/stime in USER_HZ ticks, 100 a second on every common kernel. */
const USER_HZ = 100;

function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}

function processRssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Whether an etcd binary runs here (the etcd column is skipped when not). */
export function etcdInstalled(): boolean {
  const r = spawnSync(ETCD_BIN, ['--version'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

// --- cleanup registry -------------------------------------------------------------------------

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

function killEverything(): void {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

process.on('exit', killEverything);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping every member\n`);
    killEverything();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

// --- members ----------------------------------------------------------------------------------

class Member {
  readonly lines: string[] = [];
  readonly exited: Promise<void>;
  exit: string | undefined;
  readonly child: ChildProcess;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    onLine: (line: string) => void,
  ) {
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      const done = (why: string) => {
        if (this.exit !== undefined) return;
        this.exit = why;
        live.delete(this.child);
        resolve();
      };
      this.child.on('exit', (code, signal) =>
        done(signal ? `killed by ${signal}` : `exited with code ${code}`),
      );
      this.child.on('error', (err) => done(`failed to start: ${err.message}`));
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) {
          this.lines.push(line);
          if (this.lines.length > LOG_LINES) this.lines.shift();
          onLine(line);
        }
      });
    }
  }

  /**
   * Stops the member: at once with SIGKILL, or with `graceMs` a SIGTERM first, so that a
   * profiling Node member writes its profile on the way out.
   */
  async kill(graceMs = 0): Promise<void> {
    if (this.exit === undefined && graceMs > 0) {
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    if (this.exit === undefined) this.child.kill('SIGKILL');
    await this.exited;
  }

  logs(): string {
    return `----- ${this.name} (${this.exit ?? 'running'}) -----\n${this.lines.join('\n')}`;
  }
}

function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const listen = () =>
    new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      servers.push(s);
      s.once('error', reject);
      s.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () =>
        resolve((s.address() as net.AddressInfo).port),
      );
    });
  // All held open at once, so the ports differ from each other.
  return Promise.all(Array.from({ length: n }, listen)).finally(() =>
    Promise.all(servers.map((s) => new Promise((r) => s.close(r)))),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ClusterOptions {
  /**
   * Concord only: run each member under `node --cpu-prof`, writing its .cpuprofile here when the
   * cluster is closed (members then get a SIGTERM and a few seconds to exit before SIGKILL).
   */
  cpuProfDir?: string;
}

/** How long a profiling member gets to write its profile and exit after SIGTERM. */
const PROFILE_GRACE_MS = 10_000;

/**
 * Starts `members` members of `target` and resolves once every one answers /health (and, for
 * Concord, has printed its ready line). Rejects with every member's last output lines if one
 * exits or the cluster is not healthy in time; nothing is left running then.
 */
export async function startCluster(
  target: Target,
  members: number,
  options: ClusterOptions = {},
): Promise<LocalCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `concord-bench-${target}-`));
  dirs.add(dir);
  const ports = await freePorts(members * 2);
  const spec = Array.from({ length: members }, (_, i) => ({
    name: `${target}-${i}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const initialCluster = spec.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const ready = new Set<string>();
  const started = spec.map((m) => {
    const flags = [
      '--name',
      m.name,
      '--data-dir',
      path.join(dir, m.name),
      '--listen-client-urls',
      m.clientUrl,
      '--advertise-client-urls',
      m.clientUrl,
      '--listen-peer-urls',
      m.peerUrl,
      '--initial-advertise-peer-urls',
      m.peerUrl,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      `bench-${process.pid}`,
      '--logger',
      'zap',
      '--log-outputs',
      'stderr',
    ];
    const profile = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
    const [command, args] =
      target === 'etcd'
        ? [ETCD_BIN, flags]
        : [process.execPath, [...profile, CONCORD_MAIN, 'serve', ...flags]];
    const onLine = (line: string) => {
      if (line.includes('ready to serve client requests')) ready.add(m.name);
    };
    return new Member(m.name, command, args, onLine);
  });
  const close = async () => {
    const grace = target === 'concord' && options.cpuProfDir ? PROFILE_GRACE_MS : 0;
    await Promise.all(started.map((m) => m.kill(grace)));
    await rm(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const dead = started.filter((m) => m.exit !== undefined);
      if (dead.length > 0) throw new Error(`${target} member ${dead[0]!.name} ${dead[0]!.exit}`);
      const ok =
        (target === 'etcd' || ready.size === members) &&
        (await Promise.all(spec.map((m) => healthy(m.clientUrl.replace('http://', ''))))).every(Boolean);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${target} not healthy after ${START_TIMEOUT_MS} ms`);
      await sleep(100);
    }
  } catch (err) {
    // Let a crash finish writing its output before it is quoted.
    await sleep(200);
    const logs = started.map((m) => m.logs()).join('\n');
    await close();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  return {
    target,
    endpoints: spec.map((m) => m.clientUrl.replace('http://', '')),
    cpuSeconds: () => started.reduce((sum, m) => sum + processCpuSeconds(m.child.pid ?? -1), 0),
    rssBytes: () => started.map((m) => processRssBytes(m.child.pid ?? -1)),
    close,
  };
}
