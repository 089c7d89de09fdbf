/** A running test cluster of etcd (or Concord-as-etcd) members: health, leader, faults, etcdctl. */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { describeExit, type EtcdMember, type Member, waitProcState } from './etcd-member.js';
import { type TlsSetup, tlsArgs } from './etcd-tls.js';
import { type EtcdctlOptions, type EtcdctlResult, runEtcdctl } from './etcdctl.js';
import {
  type HttpTls,
  httpRequest,
  type MemberListResponse,
  postJson,
  type StatusResponse,
} from './gateway-http.js';
import { canConnect } from './ports.js';
import { unregisterDir } from './process-registry.js';
import { errorMessage, sleep, waitFor } from './wait.js';

export interface RestartOptions {
  /** 'healthy' (default): wait for `/health` = true. 'listening': only wait until the client port accepts. */
  wait?: 'healthy' | 'listening';
  /** Default 20 000 ms. */
  timeoutMs?: number;
  /** The environment of this run, in place of StartEtcdOptions.env. */
  env?: Record<string, string>;
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

export class EtcdStartError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'EtcdStartError';
  }
}

const ADDR_IN_USE = /address already in use/i;

export class Cluster implements EtcdCluster {
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
    const t = this.tls;
    const scheme = t ? 'https' : 'http';
    const endpoints = (opts.endpoints ?? this.endpoints).map((e) =>
      opts.urls && !e.includes('://') ? `${scheme}://${e}` : e,
    );
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
