/**
 * Concord members started one by one with `concord serve` (membership tests add and remove
 * them at runtime, so the etcd harness's fixed clusters do not fit): each has a name, a client
 * address and a peer URL picked free, and a data dir under the test's own directory.
 */
import path from 'node:path';
import { MAIN } from '../harness/concord.js';
import { freePort, waitFor } from '../harness/etcd.js';
import { type Spawned, spawnTracked } from '../harness/fixtures.js';

export interface Proc {
  name: string;
  /** host:port */
  client: string;
  /** http://host:port */
  peer: string;
  proc?: Spawned;
}

export async function newProcs(n: number, prefix: string): Promise<Proc[]> {
  const out: Proc[] = [];
  for (let i = 0; i < n; i++)
    out.push({
      name: `${prefix}${i}`,
      client: `127.0.0.1:${await freePort()}`,
      peer: `http://127.0.0.1:${await freePort()}`,
    });
  return out;
}

/** Starts `p` as a member of `cluster` (50 ms heartbeats, 500 ms elections) and waits until it serves. */
export async function startMember(
  dir: string,
  p: Proc,
  cluster: Proc[],
  state: 'new' | 'existing',
  extraArgs: string[] = [],
): Promise<void> {
  p.proc = spawnTracked(process.execPath, [
    MAIN,
    'serve',
    '--name',
    p.name,
    '--data-dir',
    path.join(dir, p.name),
    '--listen-client-urls',
    `http://${p.client}`,
    '--listen-peer-urls',
    p.peer,
    '--initial-cluster',
    cluster.map((m) => `${m.name}=${m.peer}`).join(','),
    '--initial-cluster-state',
    state,
    '--heartbeat-interval',
    '50',
    '--election-timeout',
    '500',
    ...extraArgs,
  ]);
  const proc = p.proc;
  await waitFor(() => proc.lines.some((l) => l.includes('ready to serve client requests')), {
    timeoutMs: 20_000,
    what: () =>
      `${p.name} to start (output: ${proc.lines.slice(-15).join('\n')}; stderr: ${proc.stderr().slice(-800)})`,
  });
}
