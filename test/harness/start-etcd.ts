/** Starts a test cluster of 1, 3 or 5 members on fresh ports, retrying when a port is taken. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Cluster, type EtcdCluster, EtcdStartError } from './etcd-cluster.js';
import { Member } from './etcd-member.js';
import type { TlsSetup } from './etcd-tls.js';
import { freePorts } from './ports.js';
import { registerDir, unregisterDir } from './process-registry.js';

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
