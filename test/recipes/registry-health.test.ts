/**
 * register()'s active health checks against a real local HTTP server that the test stops and
 * starts again: after `failures` failed checks the instance's key is deleted (consumers see it
 * leave) while the registration stays held; once a check passes it is listed again, with the
 * metadata of an update() made while it was withdrawn. The same over a TCP connect.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { discover, register } from '../../recipes/index.js';
import { waitFor } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'registry-health' });
let seq = 0;

/** An HTTP server answering 200, that can be stopped and started again on the same port. */
async function healthServer() {
  const server = http.createServer((_req, res) => res.end('ok'));
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    start: () => listen(port),
  };
}

test.each(['http', 'tcp'] as const)(
  '%s check: withdrawn while the server is down, back when it is up',
  async (kind) => {
    const srv = await healthServer();
    const svc = `health-${kind}-${++seq}`;
    const target =
      kind === 'http' ? { http: `http://127.0.0.1:${srv.port}/healthz` } : { tcp: `127.0.0.1:${srv.port}` };
    await using view = await discover(etcd.client, svc);
    const events: string[] = [];
    view.on('change', (c) => events.push(`${c.type} ${c.instance.id}`));
    try {
      await using reg = await register(
        etcd.client,
        svc,
        { id: 'i1', address: `127.0.0.1:${srv.port}`, meta: { v: 1 } },
        { healthCheck: { ...target, intervalMs: 100, timeoutMs: 1000, failures: 2 } },
      );
      await waitFor(() => view.size === 1, { timeoutMs: 5000, what: 'the instance listed' });
      expect(reg.healthy).toBe(true);

      // \`healthy\` flips when the withdrawal or return is acknowledged, and a watcher can see the
      // change before the writer's answer arrives: wait for both.

      await srv.stop();
      await waitFor(() => view.size === 0 && !reg.healthy, {
        timeoutMs: 10_000,
        what: 'the instance withdrawn',
      });
      expect(await etcd.client.get(reg.key)).toBeUndefined();
      // Still held: the lease lives, and an update waits for the return.
      expect(reg.signal.aborted).toBe(false);
      expect((await etcd.client.leaseTimeToLive(reg.lease.id)).ttl).toBeGreaterThan(0);
      await reg.update({ meta: { v: 2 } });

      await srv.start();
      await waitFor(() => view.size === 1 && reg.healthy, { timeoutMs: 10_000, what: 'the instance back' });
      expect(view.get('i1')?.meta).toEqual({ v: 2 });
      expect((await etcd.client.get(reg.key))?.lease).toBe(reg.lease.id);
      expect(events).toEqual(['add i1', 'remove i1', 'add i1']);
    } finally {
      await srv.stop();
    }
    expect(etcd.client.holding.leases).toBe(0);
  },
);

test('invalid health check options are refused before anything is registered', async () => {
  const svc = `health-bad-${++seq}`;
  await expect(register(etcd.client, svc, { id: 'x', address: 'a:1' }, { healthCheck: {} })).rejects.toThrow(
    TypeError,
  );
  await expect(
    register(etcd.client, svc, { id: 'x', address: 'a:1' }, { healthCheck: { tcp: 'no-port' } }),
  ).rejects.toThrow(TypeError);
  expect(await etcd.client.get(`services/${svc}/x`)).toBeUndefined();
  expect(etcd.client.holding.leases).toBe(0);
});
