/**
 * One fault run: a 3-member Concord cluster whose peer links pass through PeerProxies, client
 * processes running the workloads of worker.ts, and a nemesis that injects one fault after
 * another (from a seeded schedule) until the time is up; then every link heals, every member
 * comes back, and the histories are checked (history.ts). On a violation the seed, the fault
 * schedule, the histories and a picture of the smallest failing window stay in a folder
 * under os.tmpdir() named in the report.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '../../src/index.js';
import { type EtcdCluster, freePort, sleep, startEtcd, waitFor, withTimeout } from '../harness/etcd.js';
import {
  type CheckSummary,
  checkHistory,
  type TotalEvent,
  type WorkerConfig,
  type WorkerLine,
} from './history.js';
import { renderWindow } from './picture.js';
import { PeerProxies } from './proxy.js';

export const NEMESES = [
  'kill-leader',
  'kill-follower',
  'kill-quorum',
  'pause-leader',
  'pause-follower',
  'partition-leader',
  'partition-halves',
  'one-way',
  'flap',
  'failpoint',
  'power-loss',
] as const;
export type NemesisName = (typeof NEMESES)[number];

/** What the failpoint nemesis arms on a member it restarts (see src/failpoints.ts). */
export const FAILPOINT_SPECS = [
  'wal-before-fsync=crash@3%',
  'wal-after-fsync=crash@3%',
  'apply=crash@1%',
  'apply=sleep(300)@5%',
  'wal-before-fsync=sleep(200)@10%',
  'lease-revoke=crash',
  'snapshot-install=crash',
];

export interface FaultOptions {
  seed: number;
  /** Wall time of the faulty phase. */
  timeMs: number;
  /** The repository (dist/ holds the server, dist/fault the worker). */
  root: string;
  nemeses?: readonly NemesisName[];
  /** What the failpoint nemesis may arm (FAILPOINT_SPECS unless given). */
  failpoints?: readonly string[];
  /** CONCORD_MUTATION for every member: a deliberate bug the run must catch. */
  mutation?: string;
  /** Names the folder of a failing run. */
  name?: string;
  log?: (line: string) => void;
}

export interface ScheduledFault {
  /** ms since the start of the faulty phase. */
  at: number;
  nemesis: NemesisName;
  detail: string;
}

export interface FaultReport {
  seed: number;
  ok: boolean;
  /** Where a failing run's evidence is. */
  dir: string | undefined;
  schedule: ScheduledFault[];
  summary: CheckSummary;
  /** Members' HashKV at one revision after the heal, all equal when they converged. */
  hashes: string[];
  histories: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SNAPSHOT_COUNT = 1000;
const CATCH_UP_ENTRIES = 100;

/**
 * Writes enough entries while member `down` is away that the leader snapshots and compacts its
 * log past what `down` holds: it must then be sent a snapshot. Single puts, as each is one entry
 * (the watchers see them like any other write).
 */
async function outrunLog(c: EtcdCluster, down: number): Promise<void> {
  const endpoints = c.endpoints.filter((_, i) => i !== down);
  const client = new Client({ endpoints, timeoutMs: 10_000 });
  try {
    let next = 0;
    const total = SNAPSHOT_COUNT + 2 * CATCH_UP_ENTRIES + 200;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < total) {
          const k = next++;
          await client.put(`filler/${k % 100}`, String(k)).catch(() => {});
        }
      }),
    );
    // The snapshot is written in the background after the entry that triggers it.
    await sleep(1500);
  } finally {
    client.close();
  }
}

/**
 * Only the leader proposes the revoke of an expired lease: member `i` (armed) is made leader,
 * then given a short lease with a key that nobody keeps alive, so it must propose a revoke.
 */
async function leadAndExpire(c: EtcdCluster, i: number): Promise<void> {
  const client = new Client({ endpoints: c.endpoints, timeoutMs: 5000 });
  try {
    await waitFor(
      async () => {
        const leader = await c.leaderIndex({ timeoutMs: 10_000 });
        if (leader === i) return true;
        const target = (await client.maintenance.status({ endpoint: i })).header.memberId;
        await client.maintenance.moveLeader(target, { endpoint: leader }).catch(() => {});
        return false;
      },
      { timeoutMs: 15_000, intervalMs: 500, what: `member ${i} to lead` },
    );
    const lease = await client.lease({ ttl: 1, keepAlive: false });
    await client.put('filler/expiring', 'x', { lease: lease.id });
  } catch {
    // The fault is still injected; whether it fired is in the schedule's detail.
  } finally {
    client.close();
  }
}

const WORKERS: { kind: WorkerConfig['kind']; count: number }[] = [
  { kind: 'registers', count: 4 },
  { kind: 'txns', count: 1 },
  { kind: 'watches', count: 2 },
  { kind: 'leases', count: 2 },
  { kind: 'locks', count: 3 },
];

export async function runFault(opts: FaultOptions): Promise<FaultReport> {
  const log = opts.log ?? (() => {});
  const random = rng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const workerJs = path.join(opts.root, 'dist/fault/test/fault/worker.js');
  if (!existsSync(workerJs)) throw new Error(`${workerJs} is missing: run tsc -p tsconfig.fault.json`);
  const work = path.join(
    os.tmpdir(),
    `concord-fault-${opts.name ?? 'run'}-seed${opts.seed}-${Date.now().toString(36)}`,
  );
  await mkdir(work, { recursive: true });

  let cluster: EtcdCluster | undefined;
  const proxies = new PeerProxies(() => cluster?.members.map((m) => (m.alive ? m.pid : -1)) ?? []);
  const env = opts.mutation ? { CONCORD_MUTATION: opts.mutation } : undefined;
  const children: ChildProcess[] = [];
  const schedule: ScheduledFault[] = [];
  try {
    cluster = await startEtcd({
      members: 3,
      name: 'fault',
      bin: path.join(opts.root, 'test/harness/concord-as-etcd'),
      heartbeatMs: 100,
      electionMs: 1000,
      // Few entries kept behind a snapshot, so a member down for a few seconds is sent one.
      extraArgs: [
        '--snapshot-count',
        String(SNAPSHOT_COUNT),
        '--experimental-snapshot-catchup-entries',
        String(CATCH_UP_ENTRIES),
      ],
      // Generous: the machine may be loaded.
      startTimeoutMs: 60_000,
      env,
      advertisePeerUrl: async (i, peerPort) => proxies.add(i, await freePort(), peerPort),
    });
    const c = cluster;
    const n = c.members.length;
    const clockBase = process.hrtime.bigint();
    let started = Date.now();
    let client = 0;
    const exits: Promise<void>[] = [];
    for (const w of WORKERS)
      for (let k = 0; k < w.count; k++, client++) {
        const id = client;
        const first = client % n;
        // The first register clients stay on one member each (a member cut off from the others
        // keeps its clients, as in Jepsen); the rest start on one and fail over.
        const pinned = w.kind === 'registers' && k < n;
        const cfg: WorkerConfig = {
          kind: w.kind,
          client,
          endpoints: pinned
            ? [c.endpoints[first]!]
            : [c.endpoints[first]!, ...c.endpoints.filter((_, i) => i !== first)],
          out: path.join(work, `history-${client}.jsonl`),
          seed: (opts.seed * 31 + client) >>> 0,
          clockBase: String(clockBase),
          // A backstop: the run stops its clients with SIGTERM.
          durationMs: 4 * opts.timeMs + 600_000,
          timeoutMs: 2000,
          keys: 3,
          // Lease keys get a TTL long enough that a lease wrongly ended by a leader change is seen
          // inside its promise; lock holders a short one, so a lost holder frees the lock soon.
          leaseTtl: w.kind === 'leases' ? 15 : 5,
        };
        const child = spawn(process.execPath, [workerJs, JSON.stringify(cfg)], {
          cwd: opts.root,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr?.on('data', (d) => {
          stderr += d;
        });
        children.push(child);
        exits.push(
          new Promise((resolve) =>
            child.on('exit', (code) => {
              if (code !== 0) log(`worker ${id} (${w.kind}) exited with ${code}: ${stderr.slice(-500)}`);
              resolve();
            }),
          ),
        );
      }

    // Faults start once every client has done something (on a loaded machine a dozen node
    // processes take seconds to start).
    const outs = [...Array(client).keys()].map((i) => path.join(work, `history-${i}.jsonl`));
    await waitFor(() => outs.every((f) => existsSync(f) && statSync(f).size > 0), {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'every client process to record its first operation',
    });
    started = Date.now();
    // The faulty phase: one nemesis at a time, every one at least once (past the time if need be).
    const nemeses = [...(opts.nemeses ?? NEMESES)];
    for (let i = nemeses.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [nemeses[i], nemeses[j]] = [nemeses[j]!, nemeses[i]!];
    }
    // A cluster that does not come back from a fault is a finding too: the histories so far
    // are still checked.
    let stuck: string | undefined;
    let current: ScheduledFault | undefined;
    try {
      for (let k = 0; k < nemeses.length || Date.now() - started < opts.timeMs - 4000; k++) {
        const nemesis = k < nemeses.length ? nemeses[k]! : pick(nemeses);
        const at = Date.now() - started;
        current = { at, nemesis, detail: 'did not finish' };
        const detail = await inject(c, proxies, nemesis, random, env, opts.failpoints ?? FAILPOINT_SPECS);
        current = undefined;
        schedule.push({ at, nemesis, detail });
        log(`${(at / 1000).toFixed(1)}s ${nemesis}: ${detail}`);
        await heal(c, proxies, env);
        await sleep(1000);
      }
    } catch (err) {
      if (current) schedule.push(current);
      stuck = `the cluster did not recover from a fault: ${err instanceof Error ? err.message : String(err)}`;
      log(stuck.split('\n')[0]!);
    }
    for (const ch of children) ch.kill('SIGTERM');
    await withTimeout(Promise.all(exits), 30_000, 'the clients to stop').catch(() => {});
    for (const ch of children) if (ch.exitCode === null) ch.kill('SIGKILL');

    // The cluster's total order of writes, and whether the members converged.
    let total: TotalEvent[] | undefined;
    let hashes: string[] = [];
    if (!stuck) {
      try {
        await c.waitHealthy({ timeoutMs: 60_000 });
      } catch (err) {
        stuck = `the cluster did not recover after the faults: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    // Even a cluster with a member stuck may give the total order through the others.
    try {
      ({ total, hashes } = await withTimeout(finalState(c), 90_000, 'the final state'));
    } catch (err) {
      log(`no total order: ${err instanceof Error ? err.message : String(err)}`);
    }
    const lines: WorkerLine[] = [];
    const files = readdirSync(work).filter((f) => f.startsWith('history-'));
    for (const f of files)
      for (const line of readFileSync(path.join(work, f), 'utf8').split('\n'))
        if (line) lines.push(JSON.parse(line) as WorkerLine);
    const summary = checkHistory(lines, total);
    if (stuck) summary.violations.push({ check: 'recovery', message: stuck });
    else if (new Set(hashes).size !== 1)
      summary.violations.push({
        check: 'convergence',
        message: `members' HashKV differ: ${hashes.join(', ')}`,
      });
    if (proxies.unknownSources > 0)
      log(`proxy: ${proxies.unknownSources} peer connections whose opener was not found (not cut-able)`);
    const ok = summary.violations.length === 0;
    let dir: string | undefined;
    // FAULT_KEEP=1 keeps a clean run's folder too.
    if (ok && process.env.FAULT_KEEP !== '1') await rm(work, { recursive: true, force: true });
    else {
      dir = work;
      await writeFile(path.join(work, 'seed.txt'), `${opts.seed}\n`);
      await writeFile(path.join(work, 'schedule.json'), JSON.stringify(schedule, null, 1));
      await writeFile(path.join(work, 'history.json'), JSON.stringify(lines));
      await writeFile(path.join(work, 'total-order.json'), JSON.stringify(total ?? null));
      await writeFile(
        path.join(work, 'violations.json'),
        JSON.stringify(
          summary.violations.map((v) => ({ check: v.check, message: v.message })),
          null,
          1,
        ),
      );
      const lin = summary.violations.find((v) => v.ops);
      if (lin?.ops) await writeFile(path.join(work, 'window.html'), renderWindow(lin.ops));
      await writeFile(path.join(work, 'members.log'), c.logs());
    }
    return { seed: opts.seed, ok, dir, schedule, summary, hashes, histories: files.length };
  } finally {
    for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
    await cluster?.close();
    await proxies.close();
  }
}

/** Injects one fault and lifts it again; returns what it did. */
async function inject(
  c: EtcdCluster,
  proxies: PeerProxies,
  nemesis: NemesisName,
  random: () => number,
  env: Record<string, string> | undefined,
  failpoints: readonly string[],
): Promise<string> {
  const n = c.members.length;
  const leader = await c.leaderIndex({ timeoutMs: 30_000 });
  const others = [...Array(n).keys()].filter((i) => i !== leader);
  const follower = others[Math.floor(random() * others.length)]!;
  const hold = () => sleep(2000 + random() * 2000);
  switch (nemesis) {
    case 'kill-leader':
    case 'kill-follower': {
      const i = nemesis === 'kill-leader' ? leader : follower;
      await c.kill(i, 'SIGKILL');
      await hold();
      await c.restart(i, { timeoutMs: 30_000 });
      return `kill -9 member ${i}, restarted`;
    }
    case 'kill-quorum': {
      await Promise.all([c.kill(leader, 'SIGKILL'), c.kill(follower, 'SIGKILL')]);
      await hold();
      await Promise.all([
        c.restart(leader, { timeoutMs: 30_000 }),
        c.restart(follower, { timeoutMs: 30_000 }),
      ]);
      return `kill -9 members ${leader} and ${follower} (quorum lost), restarted`;
    }
    case 'pause-leader':
    case 'pause-follower': {
      const i = nemesis === 'pause-leader' ? leader : follower;
      await c.pause(i);
      await hold();
      await c.resume(i);
      return `SIGSTOP member ${i}, SIGCONT`;
    }
    case 'partition-leader':
      proxies.partition([[leader], others]);
      await hold();
      return `leader ${leader} isolated`;
    case 'partition-halves': {
      const alone = Math.floor(random() * n);
      proxies.partition([[alone], [...Array(n).keys()].filter((i) => i !== alone)]);
      await hold();
      return `member ${alone} in the minority (leader was ${leader})`;
    }
    case 'one-way': {
      const outbound = random() < 0.5;
      for (const o of others)
        if (outbound) proxies.cut(leader, o);
        else proxies.cut(o, leader);
      await hold();
      return outbound ? `leader ${leader} cannot send` : `leader ${leader} cannot hear`;
    }
    case 'flap': {
      const steps: string[] = [];
      for (let t = 0; t < 12; t++) {
        proxies.heal();
        if (random() < 0.6) {
          const i = Math.floor(random() * n);
          proxies.partition([[i], [...Array(n).keys()].filter((x) => x !== i)]);
          steps.push(String(i));
        } else steps.push('-');
        await sleep(300);
      }
      return `isolated every 300 ms: ${steps.join(' ')}`;
    }
    case 'failpoint': {
      const spec = failpoints[Math.floor(random() * failpoints.length)]!;
      const i = random() < 0.5 ? leader : follower;
      await c.kill(i, 'SIGKILL');
      if (spec.startsWith('snapshot-install')) await outrunLog(c, i);
      await c
        .restart(i, { env: { ...env, CONCORD_FAILPOINTS: spec }, wait: 'listening', timeoutMs: 30_000 })
        .catch(() => {});
      if (spec.startsWith('lease-revoke')) await leadAndExpire(c, i);
      await sleep(4000);
      const fired = /failpoint [a-z-]+: crash/.test(c.members[i]!.runLogs());
      await c.kill(i, 'SIGKILL');
      await c.restart(i, { timeoutMs: 30_000 });
      return `member ${i} restarted with CONCORD_FAILPOINTS=${spec}${fired ? ' (crashed there)' : ''}`;
    }
    case 'power-loss': {
      // Both followers come back with a power loss armed at a WAL fsync (one batch in ten):
      // neither may have acknowledged what it loses. Once both are down the leader dies too,
      // and they carry on without it: whatever the leader committed must be on one of them.
      for (const i of others) await c.kill(i, 'SIGKILL');
      await Promise.all(
        others.map((i) =>
          c
            .restart(i, {
              env: { ...env, CONCORD_FAILPOINTS: 'wal-before-fsync=crash@10%' },
              wait: 'listening',
              timeoutMs: 30_000,
            })
            .catch(() => {}),
        ),
      );
      await waitFor(() => others.every((i) => !c.members[i]!.alive), { timeoutMs: 15_000 }).catch(() => {});
      const crashed = others.filter((i) => !c.members[i]!.alive);
      await c.kill(leader, 'SIGKILL');
      for (const i of others) await c.kill(i, 'SIGKILL');
      await Promise.all(others.map((i) => c.restart(i, { timeoutMs: 30_000 })));
      await c.restart(leader, { timeoutMs: 30_000 });
      return `members ${others.join(', ')} lost power at a WAL fsync (${crashed.length} did), then leader ${leader} was killed`;
    }
  }
}

/** Every link up, every member running and unpaused. */
async function heal(
  c: EtcdCluster,
  proxies: PeerProxies,
  env: Record<string, string> | undefined,
): Promise<void> {
  proxies.heal();
  for (const m of c.members) {
    if (m.paused) await c.resume(m.index);
    if (!m.alive) await c.restart(m.index, { timeoutMs: 30_000, env });
  }
}

async function finalState(c: EtcdCluster): Promise<{ total: TotalEvent[]; hashes: string[] }> {
  const client = new Client({ endpoints: c.endpoints, timeoutMs: 10_000 });
  try {
    const rev = (await client.range('none')).header.revision;
    const total: TotalEvent[] = [];
    if (rev > 1n) {
      const ac = new AbortController();
      const w = await client.watch({ prefix: '' }, { startRevision: 1, signal: ac.signal });
      for await (const b of w.batches()) {
        for (const e of b.events)
          total.push([
            String(e.revision),
            e.type,
            e.key.toString(),
            e.type === 'put' ? e.kv.value.toString() : '',
          ]);
        if (total.length > 0 && BigInt(total[total.length - 1]![0]) >= rev) break;
      }
      ac.abort();
    }
    let hashes: string[] = [];
    await waitFor(
      async () => {
        hashes = await Promise.all(
          c.endpoints.map(async (e) => {
            const one = new Client({ endpoints: [e], timeoutMs: 5000 });
            try {
              return String((await one.maintenance.hashKV(rev)).hash);
            } finally {
              one.close();
            }
          }),
        );
        return new Set(hashes).size === 1;
      },
      { timeoutMs: 30_000, what: 'HashKV to agree' },
    ).catch(() => {});
    return { total, hashes };
  } finally {
    client.close();
  }
}
