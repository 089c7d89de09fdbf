/**
 * The raft stream through an HTTP CONNECT proxy: which targets go through it (grpc-js's rules,
 * so peer gRPC and the raft stream take one route), and a stream tunnelled through a real proxy
 * that holds the CONNECT for a while, as the test cluster's partitions do.
 */
import http from 'node:http';
import net from 'node:net';
import { PeerTransport } from '../../src/transport/peer-transport.js';
import { connectTunnel, proxyFor } from '../../src/transport/proxy-dial.js';
import { heartbeat, receiver, until } from './raft-stream-helpers.js';

jest.setTimeout(20_000);

describe('proxyFor', () => {
  test.each([
    [{}, '10.0.0.1', undefined],
    [{ http_proxy: 'http://p:3128' }, '10.0.0.1', { host: 'p', port: 3128 }],
    [{ https_proxy: 'http://p', http_proxy: 'http://q:1' }, 'a', { host: 'p', port: 80 }],
    [{ grpc_proxy: 'http://g:9', https_proxy: 'http://p:1' }, 'a', { host: 'g', port: 9 }],
    [{ grpc_proxy: 'http://u:p%40ss@g:9' }, 'a', { host: 'g', port: 9, creds: 'u:p@ss' }],
    [{ grpc_proxy: 'https://g:9' }, 'a', undefined],
    [{ grpc_proxy: 'not a url' }, 'a', undefined],
    [{ grpc_proxy: 'http://g:9', no_proxy: 'example.com' }, 'm1.example.com', undefined],
    [{ grpc_proxy: 'http://g:9', no_proxy: 'example.com' }, 'm1.example.org', { host: 'g', port: 9 }],
    [{ grpc_proxy: 'http://g:9', no_proxy: '10.0.0.0/8' }, '10.1.2.3', undefined],
    [{ grpc_proxy: 'http://g:9', no_proxy: '10.0.0.0/8' }, '11.1.2.3', { host: 'g', port: 9 }],
    [{ grpc_proxy: 'http://g:9', no_proxy: 'x', no_grpc_proxy: '127.0.0.1' }, '127.0.0.1', undefined],
    [
      { grpc_proxy: 'http://g:9', no_proxy: '127.0.0.1', no_grpc_proxy: 'x' },
      '127.0.0.1',
      { host: 'g', port: 9 },
    ],
  ])('%j, target %s → %j', (env, host, want) => {
    expect(proxyFor(host, env)).toEqual(want);
  });
});

test('a raft stream through a CONNECT proxy: dropped while the proxy holds it, delivered once it answers', async () => {
  const r = await receiver();
  const port = r.port;
  const got = r.got;

  // A proxy that holds every CONNECT until `open` is set, as a partitioned link does.
  let open = false;
  const held: Array<() => void> = [];
  const targets: string[] = [];
  const sockets = new Set<net.Socket>();
  const proxy = http.createServer();
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    targets.push(req.url ?? '');
    sockets.add(client);
    const go = () => {
      const [h, p] = (req.url ?? '').split(':');
      const up = net.connect({ host: h, port: Number(p) }, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) up.write(head);
        client.pipe(up);
        up.pipe(client);
      });
      sockets.add(up);
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    };
    if (open) go();
    else held.push(go);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  const proxyPort = (proxy.address() as net.AddressInfo).port;

  const saved = { grpc_proxy: process.env.grpc_proxy, no_grpc_proxy: process.env.no_grpc_proxy };
  process.env.grpc_proxy = `http://127.0.0.1:${proxyPort}`;
  process.env.no_grpc_proxy = 'nothing.invalid';
  const t = new PeerTransport({
    selfId: 1n,
    clusterId: 7n,
    openSnapshot: () => Promise.reject(new Error('no snapshots')),
    onUnreachable: () => {},
    onSnapshotSent: () => {},
    onRemoved: () => {},
    log: () => {},
  });
  try {
    t.addPeer(2n, `http://127.0.0.1:${port}`);
    t.send([heartbeat(1)]);
    t.send([heartbeat(2)]);
    await until(() => held.length === 1, 'the CONNECT to arrive');
    expect(targets).toEqual([`127.0.0.1:${port}`]);
    expect(got).toEqual([]);
    open = true;
    for (const go of held.splice(0)) go();
    // Batches sent while the tunnel was being set up were dropped; the next ones arrive.
    await until(() => {
      t.send([heartbeat(3)]);
      return got.some((m) => m.commit === 3);
    }, 'a batch through the tunnel');
    expect(got.map((m) => m.commit)).not.toContain(1);
    expect(targets).toHaveLength(1);
  } finally {
    t.close();
    process.env.grpc_proxy = saved.grpc_proxy;
    process.env.no_grpc_proxy = saved.no_grpc_proxy;
    if (saved.grpc_proxy === undefined) delete process.env.grpc_proxy;
    if (saved.no_grpc_proxy === undefined) delete process.env.no_grpc_proxy;
    for (const s of sockets) s.destroy();
    proxy.close();
    await r.close();
  }
});

/** A proxy that answers every CONNECT with `answer` (a status line), or not at all (undefined). */
async function fakeProxy(
  answer: string | undefined,
): Promise<{ port: number; close(): void; seen: string[] }> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const proxy = http.createServer();
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
    seen.push(req.url ?? '');
    sockets.add(client);
    client.on('error', () => {});
    if (answer !== undefined) client.end(`${answer}\r\n\r\n`);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    seen,
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}

test('a proxy that refuses the CONNECT: the core hears unreachable, nothing is delivered, the redial backs off', async () => {
  const r = await receiver();
  const p = await fakeProxy('HTTP/1.1 403 Forbidden');
  const saved = process.env.grpc_proxy;
  process.env.grpc_proxy = `http://127.0.0.1:${p.port}`;
  const unreachable: bigint[] = [];
  const t = new PeerTransport({
    selfId: 1n,
    clusterId: 7n,
    openSnapshot: () => Promise.reject(new Error('no snapshots')),
    onUnreachable: (id) => unreachable.push(id),
    onSnapshotSent: () => {},
    onRemoved: () => {},
    log: () => {},
  });
  try {
    t.addPeer(2n, `http://127.0.0.1:${r.port}`);
    // 60 batches over about 300 ms: one dial, then a wait before each next one.
    for (let i = 0; i < 60; i++) {
      t.send([heartbeat(i)]);
      await new Promise((res) => setTimeout(res, 5));
    }
    await until(() => unreachable.length > 0, 'unreachable');
    expect(new Set(unreachable)).toEqual(new Set([2n]));
    expect(p.seen.length).toBeGreaterThanOrEqual(1);
    expect(p.seen.length).toBeLessThanOrEqual(4);
    expect(r.got).toEqual([]);
  } finally {
    t.close();
    if (saved === undefined) delete process.env.grpc_proxy;
    else process.env.grpc_proxy = saved;
    p.close();
    await r.close();
  }
});

test('a proxy that never answers the CONNECT fails the dial after the timeout', async () => {
  const p = await fakeProxy(undefined);
  try {
    await expect(connectTunnel({ host: '127.0.0.1', port: p.port }, '127.0.0.1', 9, 200)).rejects.toThrow(
      `proxy 127.0.0.1:${p.port} did not answer CONNECT 127.0.0.1:9`,
    );
    expect(p.seen).toEqual(['127.0.0.1:9']);
  } finally {
    p.close();
  }
});
