/**
 * `startTestCluster()`: a throwaway Concord cluster for an application's own tests, as Go's
 * `embed`, Curator's `TestingServer` or etcd3's `mock()` give one. 1 to 5 members on free
 * loopback ports, each a `concord serve` process with a temporary data dir; members can be
 * killed, stopped, restarted and cut off from the others; everything goes with `close()`,
 * `await using`, or the process's exit.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '../client/node-client.js';
import type { ClientOptions } from '../client/options.js';
import { onExit, removeDirNow } from './exit-hook.js';
import { type MemberLaunch, MemberProcess } from './member.js';
import { PeerLinks } from './peer-links.js';
import { freePorts } from './ports.js';

/** What `startTestCluster()` takes; every field has a default suited to tests. */
export interface TestClusterOptions {
  /** Number of members, 1 to 5 (default 1). */
  members?: number;
  /** Raft heartbeat interval in ms (default 50: elections within a second, for tests). */
  heartbeatIntervalMs?: number;
  /** Raft election timeout in ms (default 500). */
  electionTimeoutMs?: number;
  /** More `concord serve` flags for every member (e.g. `['--auto-compaction-retention', '1']`). */
  args?: string[];
  /** More environment for the member processes. */
  env?: Record<string, string>;
  /** Where the temporary data dirs go (default: the OS's temporary directory). */
  tmpDir?: string;
  /** How long to wait for the cluster, or a restarted member, to serve (default 30 000 ms). */
  startTimeoutMs?: number;
}

/** One member of a test cluster: where it listens and what state the test has put it in. */
export interface TestMember {
  /** Position in `members` (what kill, restart, stop, partition and heal take). */
  readonly index: number;
  /** `--name` of the member: `m0`, `m1`, … */
  readonly name: string;
  /** Its client URL, `http://127.0.0.1:<port>` (gRPC and the JSON gateway). */
  readonly endpoint: string;
  /** Its peer URL. */
  readonly peerUrl: string;
  /** Its data directory (removed by `close()`), for tests that inspect or damage what it wrote. */
  readonly dataDir: string;
  /** Whether its process is running. */
  readonly running: boolean;
  /** Its process ID while running. */
  readonly pid: number | undefined;
  /** Whether `partition()` has cut it off from the other members. */
  readonly partitioned: boolean;
  /** The last 200 lines of its output, across restarts (for a failing test's message). */
  output(): string;
}

/** What `leader()` takes. */
export interface LeaderOptions {
  /** How long to wait for a leader (default 10 000 ms). */
  timeoutMs?: number;
}

/**
 * A running test cluster: endpoints for any etcd v3 client, and the faults a test can inject
 * (kill, stop, restart, partition). `await using` or `close()` removes everything.
 */
export interface TestCluster extends AsyncDisposable {
  /** The members' client URLs, in member order: give them to any etcd v3 client. */
  readonly endpoints: string[];
  /** The members, by index. */
  readonly members: readonly TestMember[];
  /**
   * A client of this package on every member's endpoint (options as `new Client()`; endpoints
   * may be narrowed). Closed by `close()`.
   */
  client(options?: Partial<ClientOptions>): Client;
  /** SIGKILL: the member dies at once, as in a crash. Resolves once its process has exited. */
  kill(i: number): Promise<void>;
  /** SIGTERM: a graceful stop (a leader hands leadership over first). */
  stop(i: number): Promise<void>;
  /**
   * Starts member i again on its data dir and ports (stopping it first if it runs); resolves
   * once it serves clients. A member serves once it has caught up through a leader (as etcd):
   * if it is partitioned, or the running members are no majority, it resolves as soon as the
   * member listens to its peers (restart several together with `Promise.all`).
   */
  restart(i: number): Promise<void>;
  /**
   * Cuts member i off from every other member, both ways, until `heal(i)`. Its clients still
   * reach it: its reads and writes fail or wait as on a member without a quorum.
   */
  partition(i: number): void;
  /** Reconnects member i (every member without an argument). */
  heal(i?: number): void;
  /**
   * The index of the leader: the member that leads and that a majority of the members follow.
   * Waits for one (after a kill or a partition, an election takes an election timeout or two).
   */
  leader(options?: LeaderOptions): Promise<number>;
  /** Kills every member, closes the clients, removes the data. Idempotent. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface StatusJson {
  header?: { member_id?: string };
  leader?: string;
}

/** POSTs to a member's JSON gateway; undefined when it does not answer in time. */
async function gateway<T>(endpoint: string, route: string, timeoutMs = 1000): Promise<T | undefined> {
  try {
    const res = await fetch(`${endpoint}${route}`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

/** Whether a member answers `path` (GET) with 200. */
async function probe(endpoint: string, route: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}${route}`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

class Member implements TestMember {
  constructor(
    readonly index: number,
    readonly proc: MemberProcess,
    readonly endpoint: string,
    readonly peerUrl: string,
    readonly links: PeerLinks,
  ) {}
  get name() {
    return this.proc.launch.name;
  }
  get dataDir() {
    return this.proc.launch.dataDir;
  }
  get running() {
    return this.proc.running;
  }
  get pid() {
    return this.proc.pid;
  }
  get partitioned() {
    return this.links.isIsolated(this.index);
  }
  output() {
    return this.proc.output();
  }
}

class Cluster implements TestCluster {
  readonly endpoints: string[];
  readonly #members: Member[];
  readonly #links: PeerLinks;
  readonly #root: string;
  readonly #startTimeoutMs: number;
  readonly #clients = new Set<Client>();
  readonly #forgetExitHook: () => void;
  #closing: Promise<void> | undefined;

  constructor(members: Member[], links: PeerLinks, root: string, startTimeoutMs: number) {
    this.#members = members;
    this.#links = links;
    this.#root = root;
    this.#startTimeoutMs = startTimeoutMs;
    this.endpoints = members.map((m) => m.endpoint);
    this.#forgetExitHook = onExit(() => {
      for (const m of this.#members) m.proc.killNow();
      removeDirNow(this.#root);
    });
  }

  get members(): readonly TestMember[] {
    return this.#members;
  }

  #member(i: number): Member {
    if (this.#closing) throw new Error('the test cluster is closed');
    const m = this.#members[i];
    if (!Number.isInteger(i) || !m) {
      throw new RangeError(`no member ${i}: the cluster has members 0 to ${this.#members.length - 1}`);
    }
    return m;
  }

  client(options: Partial<ClientOptions> = {}): Client {
    if (this.#closing) throw new Error('the test cluster is closed');
    const client = new Client({ ...options, endpoints: options.endpoints ?? this.endpoints });
    this.#clients.add(client);
    return client;
  }

  async kill(i: number): Promise<void> {
    await this.#member(i).proc.stop('SIGKILL');
  }

  async stop(i: number): Promise<void> {
    await this.#member(i).proc.stop('SIGTERM');
  }

  async restart(i: number): Promise<void> {
    const m = this.#member(i);
    await m.proc.stop('SIGTERM');
    m.proc.start();
    // It serves clients once it has caught up through a leader, which takes hearing from a
    // majority: without one, being up is listening to its peers.
    const n = this.#members.length;
    const reachable = this.#members.filter((o) => o.running && !o.partitioned).length;
    if (!m.partitioned && reachable > n / 2) await waitServing([m], '/health', this.#startTimeoutMs);
    else await waitServing([m], 'peer port', this.#startTimeoutMs);
  }

  partition(i: number): void {
    this.#member(i);
    this.#links.isolate(i);
  }

  heal(i?: number): void {
    if (i === undefined) this.#links.rejoinAll();
    else {
      this.#member(i);
      this.#links.rejoin(i);
    }
  }

  async leader(options: LeaderOptions = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const n = this.#members.length;
    const quorum = Math.floor(n / 2) + 1;
    for (;;) {
      if (this.#closing) throw new Error('the test cluster is closed');
      const statuses = await Promise.all(
        this.#members.map((m) =>
          m.running ? gateway<StatusJson>(m.endpoint, '/v3/maintenance/status') : undefined,
        ),
      );
      // A partitioned member may still believe it leads, and the others follow it until they
      // time out: only a member the partition left with the others can be the leader.
      const reachable = (j: number) => n === 1 || !this.#members[j]!.partitioned;
      for (let i = 0; i < n; i++) {
        const own = statuses[i]?.header?.member_id;
        if (!own || statuses[i]?.leader !== own || !reachable(i)) continue;
        const followers = statuses.filter((s, j) => s?.leader === own && reachable(j)).length;
        if (followers >= quorum) return i;
      }
      if (Date.now() >= deadline) {
        const seen = statuses.map((s, i) =>
          s
            ? `m${i}: leader ${s.leader ?? '0'}`
            : `m${i}: ${this.#members[i]!.running ? 'no answer' : 'down'}`,
        );
        throw new Error(`no leader followed by a majority within ${timeoutMs} ms (${seen.join(', ')})`);
      }
      await sleep(50);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const c of this.#clients) c.close();
      this.#clients.clear();
      await Promise.all(this.#members.map((m) => m.proc.stop('SIGKILL')));
      await this.#links.close();
      removeDirNow(this.#root);
      this.#forgetExitHook();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Whether something accepts connections at `url`'s host and port. */
function listening(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Waits until every member of `members` answers `route` with 200 on its client URL (or, for
 * 'peer port', accepts connections on its peer URL); fails early if one exits.
 */
async function waitServing(members: Member[], route: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(members);
  while (pending.size > 0) {
    for (const m of pending) {
      if (!m.running) {
        throw new MemberStartError(m, `${m.name} ${m.proc.exit ?? 'exited'} before serving`);
      }
    }
    const ok = await Promise.all(
      [...pending].map(
        async (m) =>
          [m, route === 'peer port' ? await listening(m.peerUrl) : await probe(m.endpoint, route)] as const,
      ),
    );
    for (const [m, up] of ok) if (up) pending.delete(m);
    if (pending.size === 0) return;
    if (Date.now() >= deadline) {
      const m = [...pending][0]!;
      throw new MemberStartError(m, `${m.name} not serving ${timeoutMs} ms after its start`);
    }
    await sleep(50);
  }
}

class MemberStartError extends Error {
  readonly code = 'member-start';
  constructor(
    readonly member: Member,
    what: string,
  ) {
    super(`concord-kv/testing: ${what}; its output:\n${member.output().split('\n').slice(-30).join('\n')}`);
    this.name = 'MemberStartError';
  }
}

const PORT_ATTEMPTS = 3;

/**
 * Starts a cluster of `members` (default 1) and resolves once every member serves and a leader
 * is elected.
 *
 * @example
 * ```ts
 * import { startTestCluster } from 'concord-kv/testing';
 * await using cluster = await startTestCluster({ members: 3 });
 * const client = cluster.client();
 * await client.put('k', 'v');
 * await cluster.kill(await cluster.leader()); // a new leader takes over
 * expect(await client.getString('k')).toBe('v');
 * ```
 */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const n = options.members ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 5) {
    throw new RangeError(`members must be an integer from 1 to 5, got ${JSON.stringify(options.members)}`);
  }
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const root = mkdtempSync(path.join(options.tmpDir ?? tmpdir(), 'concord-test-'));
  const token = `concord-test-${path.basename(root).slice('concord-test-'.length)}`;
  const forget = onExit(() => removeDirNow(root));
  try {
    for (let attempt = 1; ; attempt++) {
      const links = new PeerLinks();
      const ports = await freePorts(2 * n);
      const members: Member[] = [];
      for (let i = 0; i < n; i++) {
        const [clientPort, peerPort] = [ports[2 * i]!, ports[2 * i + 1]!];
        links.setPorts(i, [clientPort, peerPort]);
        const endpoint = `http://127.0.0.1:${clientPort}`;
        const peerUrl = `http://127.0.0.1:${peerPort}`;
        const launch: MemberLaunch = {
          name: `m${i}`,
          dataDir: path.join(root, `m${i}`),
          root,
          args: [],
          peerProxy: await links.proxyFor(i),
          env: options.env ?? {},
        };
        members.push(new Member(i, new MemberProcess(launch), endpoint, peerUrl, links));
      }
      const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
      for (const m of members) {
        m.proc.launch.args = [
          ...['--name', m.name, '--data-dir', m.dataDir],
          ...['--listen-client-urls', m.endpoint, '--advertise-client-urls', m.endpoint],
          ...['--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl],
          ...['--initial-cluster', initialCluster, '--initial-cluster-token', token],
          ...['--initial-cluster-state', 'new'],
          ...['--heartbeat-interval', String(options.heartbeatIntervalMs ?? 50)],
          ...['--election-timeout', String(options.electionTimeoutMs ?? 500)],
          ...(options.args ?? []),
        ];
      }
      const cluster = new Cluster(members, links, root, startTimeoutMs);
      for (const m of members) m.proc.start();
      try {
        await waitServing(members, '/health', startTimeoutMs);
        return cluster;
      } catch (err) {
        const busy = err instanceof MemberStartError && /EADDRINUSE/.test(err.member.output());
        await cluster.close();
        if (!busy || attempt >= PORT_ATTEMPTS) throw err;
        // A port was taken between finding it free and binding it: again, on other ports.
        mkdirSync(root, { recursive: true });
      }
    }
  } finally {
    forget();
  }
}
