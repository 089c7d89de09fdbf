/**
 * /health, /livez and /readyz of a member whose raft loop has stopped: each says so with 503,
 * so a probe stops routing traffic to a member that refuses every request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveHealth } from '../../src/server/api/health.js';
import type { Node } from '../../src/server/bootstrap/node.js';

function fakeNode(failure: Error | undefined, leader: bigint): Node {
  return {
    proposer: { failure, status: () => ({ leader, term: 2, lastIndex: 1, appliedIndex: 1 }) },
    sm: { alarms: { has: () => false } },
  } as unknown as Node;
}

async function get(node: Node, path: string): Promise<{ status: number; body: string }> {
  const server = http.createServer((req, res) => {
    if (!serveHealth(node, req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    return { status: res.status, body: await res.text() };
  } finally {
    server.close();
  }
}

test('a working member with a leader is healthy, live and ready', async () => {
  const node = fakeNode(undefined, 7n);
  expect(await get(node, '/health')).toEqual({ status: 200, body: '{"health":"true","reason":""}' });
  expect(await get(node, '/livez')).toEqual({ status: 200, body: 'ok\n' });
  expect((await get(node, '/readyz?verbose')).body).toContain('[+]linearizable_read ok');
});

test('a stopped raft loop fails /health, /livez and /readyz with its reason', async () => {
  const node = fakeNode(new Error('EIO: disk on fire'), 7n);
  const health = await get(node, '/health');
  expect(health.status).toBe(503);
  expect(JSON.parse(health.body)).toEqual({ health: 'false', reason: 'raft loop failed: EIO: disk on fire' });
  expect((await get(node, '/livez')).status).toBe(503);
  const ready = await get(node, '/readyz?verbose');
  expect(ready.status).toBe(503);
  expect(ready.body).toContain('[-]raft_loop failed: raft loop failed: EIO: disk on fire');
});

test('without a leader: /health fails unless serializable, /readyz fails on linearizable reads only', async () => {
  const node = fakeNode(undefined, 0n);
  expect((await get(node, '/health')).status).toBe(503);
  expect((await get(node, '/health?serializable=true')).status).toBe(200);
  const ready = await get(node, '/readyz?verbose');
  expect(ready.status).toBe(503);
  expect(ready.body).toContain('[+]serializable_read ok');
  expect(ready.body).toContain('[-]linearizable_read failed: RAFT NO LEADER');
  expect((await get(node, '/readyz?exclude=linearizable_read')).status).toBe(200);
});
