/**
 * What must never take a member down: garbage where a protobuf should be, methods and services
 * that do not exist, a client that vanishes mid-stream. And `concord serve` flag validation:
 * bad values are refused with a message quoting them; more than one member is refused in this
 * single-member build.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { Client } from '../../src/index.js';
import { type Concord, ensureServerBuilt, MAIN, startConcord } from '../harness/concord.js';
import { withTimeout } from '../harness/etcd.js';
import { spawnTracked } from '../harness/fixtures.js';

let server: Concord;

beforeAll(async () => {
  ensureServerBuilt();
  server = await startConcord({ args: ['--listen-metrics-urls', 'http://127.0.0.1:0'] });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

/** One gRPC call made by hand: a length-prefixed frame of `body` to `path`; returns grpc-status and -message. */
function rawCall(
  urlPath: string,
  body: Buffer,
  frameLength = body.length,
): Promise<{ status: string; message: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const session = http2.connect(`http://${server.endpoint}`);
      session.on('error', reject);
      const req = session.request({
        ':method': 'POST',
        ':path': urlPath,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      let headers: http2.IncomingHttpHeaders = {};
      req.on('response', (h) => {
        headers = h;
      });
      req.on('trailers', (t) => {
        headers = { ...headers, ...t };
      });
      req.on('data', () => {});
      req.on('end', () => {
        session.close();
        resolve({
          status: String(headers['grpc-status']),
          message: decodeURIComponent(String(headers['grpc-message'] ?? '')),
        });
      });
      req.on('error', reject);
      const frame = Buffer.alloc(5);
      frame.writeUInt32BE(frameLength, 1);
      req.end(Buffer.concat([frame, body]));
    }),
    5000,
    `raw call to ${urlPath}`,
  );
}

async function stillServes(): Promise<void> {
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    await client.put('alive', 'yes');
    expect(await client.getString('alive')).toBe('yes');
  } finally {
    client.close();
  }
}

test('garbage bytes to a method are answered with an error status; the member keeps serving', async () => {
  const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99, 0x01]);
  const r = await rawCall('/etcdserverpb.KV/Put', garbage);
  expect(r.status).not.toBe('0');
  expect(r.status).not.toBe('undefined');
  const w = await rawCall('/etcdserverpb.Watch/Watch', garbage);
  expect(w.status).not.toBe('0');
  await stillServes();
});

test('a frame that claims more bytes than it carries, unknown methods and services: answered, not fatal', async () => {
  const truncated = await rawCall('/etcdserverpb.KV/Range', Buffer.from([0x0a, 0x01, 0x61]), 100);
  expect(truncated.status).not.toBe('0');
  expect((await rawCall('/etcdserverpb.KV/Nope', Buffer.alloc(0))).status).toBe('12'); // UNIMPLEMENTED
  expect((await rawCall('/nothing.Here/Call', Buffer.alloc(0))).status).toBe('12');
  expect((await rawCall('/etcdserverpb.Maintenance/Downgrade', Buffer.alloc(0))).status).toBe('12');
  await stillServes();
});

test.each(['client', 'metrics'])('/health and /version over HTTP/1 on the %s port', async (which) => {
  const line = server.proc.lines.find((l) => l.includes('http: '))!;
  const addr = which === 'client' ? server.endpoint : /http: (\S+?)\)/.exec(line)![1]!;
  const health = await (await fetch(`http://${addr}/health`)).json();
  expect(health).toEqual({ health: 'true', reason: '' });
  const version = await (await fetch(`http://${addr}/version`)).json();
  expect(version).toEqual({ etcdserver: '3.5.0', etcdcluster: '3.5.0' });
  expect((await fetch(`http://${addr}/nope`)).status).toBe(404);
  await stillServes();
});

test('a connection that sends a few bytes and vanishes does not disturb the port', async () => {
  const { connect } = await import('node:net');
  await new Promise<void>((resolve) => {
    const s = connect(server.port, '127.0.0.1', () => {
      s.write('P');
      s.destroy();
      resolve();
    });
    s.on('error', () => resolve());
  });
  await stillServes();
});

describe('flags', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'concord-flags-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const p = spawnTracked(process.execPath, [MAIN, 'serve', '--data-dir', path.join(dir, 'd'), ...args]);
    const code = await withTimeout(p.exited, 15_000, 'concord serve to refuse');
    return { code, stderr: p.stderr() };
  };

  test.each([
    [
      [
        '--initial-cluster',
        Array.from({ length: 8 }, (_, i) => `m${i}=http://127.0.0.1:${i + 1}`).join(','),
        '--name',
        'm0',
      ],
      /clusters of 1 to 7 members/,
    ],
    [['--initial-cluster', 'x=http://127.0.0.1:1'], /couldn't find local name "default"/],
    [['--max-txn-ops', 'lots'], /--max-txn-ops: expected an integer ≥ 1, got "lots"/],
    [
      ['--listen-client-urls', 'https://127.0.0.1:1'],
      /TLS key\/cert \(--cert-file, --key-file\) must be provided for client url https:\/\/127.0.0.1:1/,
    ],
    [['--heartbeat-interval', '500', '--election-timeout', '1000'], /should be at least as 5 times/],
    [['--initial-cluster-state', 'maybe'], /expected "new" or "existing", got "maybe"/],
  ])('%j is refused', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });
});
