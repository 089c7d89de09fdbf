/**
 * The member's health endpoints, as etcd 3.5 and Kubernetes probe them:
 * - `/health` (`?serializable=true` skips the leader check): `{"health":"true"|"false","reason"}`;
 * - `/livez` and `/readyz`: `ok`, or the failed checks, with 503; `?verbose` lists every check as
 *   `[+]name ok` / `[-]name failed: reason`, `?exclude=name` leaves one out.
 * A member whose raft loop has stopped is neither healthy, live nor ready: it refuses every
 * request, and a probe must say so rather than keep routing traffic to it.
 */
import type http from 'node:http';
import { AlarmType } from '../../gen/etcdserverpb/rpc.js';
import type { Node } from '../bootstrap/node.js';

/** A check: undefined when it passes, else why not. */
type Check = (node: Node) => string | undefined;

const raftLoop: Check = (node) => {
  const f = node.proposer.failure;
  return f ? `raft loop failed: ${f.message}` : undefined;
};
const hasLeader: Check = (node) => (node.proposer.status().leader === 0n ? 'RAFT NO LEADER' : undefined);
const noCorruption: Check = (node) =>
  node.sm.alarms.has(AlarmType.CORRUPT) ? 'alarm activated: CORRUPT' : undefined;

const LIVEZ: [string, Check][] = [
  ['raft_loop', raftLoop],
  ['serializable_read', raftLoop],
];
const READYZ: [string, Check][] = [
  ['data_corruption', noCorruption],
  ['raft_loop', raftLoop],
  ['serializable_read', raftLoop],
  ['linearizable_read', (node) => raftLoop(node) ?? hasLeader(node)],
];

/** Answers /health, /livez and /readyz; false for any other path. */
export function serveHealth(node: Node, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://member');
  if (url.pathname === '/health') {
    const serializable = url.searchParams.get('serializable') === 'true';
    const reason = node.sm.alarms.has(AlarmType.NOSPACE)
      ? 'ALARM NOSPACE'
      : (raftLoop(node) ?? (serializable ? undefined : hasLeader(node)) ?? '');
    res.writeHead(reason === '' ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ health: reason === '' ? 'true' : 'false', reason }));
    return true;
  }
  const checks = url.pathname === '/livez' ? LIVEZ : url.pathname === '/readyz' ? READYZ : undefined;
  if (!checks) return false;
  const excluded = new Set(url.searchParams.getAll('exclude'));
  const lines: string[] = [];
  let ok = true;
  for (const [name, check] of checks) {
    if (excluded.has(name)) {
      lines.push(`[+]${name} excluded: ok`);
      continue;
    }
    const why = check(node);
    if (why !== undefined) ok = false;
    lines.push(why === undefined ? `[+]${name} ok` : `[-]${name} failed: ${why}`);
  }
  const verbose = url.searchParams.has('verbose');
  const body = ok
    ? verbose
      ? `${lines.join('\n')}\nok\n`
      : 'ok\n'
    : `${(verbose ? lines : lines.filter((l) => l.startsWith('[-]'))).join('\n')}\n${url.pathname.slice(1)} check failed\n`;
  res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
  return true;
}
