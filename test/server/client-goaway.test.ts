/**
 * A client's graceful GOAWAY (issue 16, item 5), sent while one of its requests is on the wire
 * but not finished, as the etcd3 client does when it resets its channels: grpc-go's server
 * (etcd) ignores it — no GOAWAY back, the request completes, the connection stays open until
 * the client closes it. Node answers with a GOAWAY of its own at once and closes the session;
 * Concord now does what etcd does (src/server/api/grpc-hygiene.ts).
 */
import http2 from 'node:http2';
import { sleep, startEtcd, withTimeout } from '../harness/etcd.js';
import { ensureBuilt } from '../harness/fixtures.js';
import { BOTH_TARGETS } from '../harness/targets.js';

beforeAll(() => ensureBuilt(), 120_000);

describe.each(BOTH_TARGETS)('a client GOAWAY mid-request on %s', (name, bin) => {
  test('is not answered; the request completes and the connection stays open', async () => {
    const cluster = await startEtcd({ members: 1, name: `goaway-${name}`, bin });
    const session = http2.connect(`http://${cluster.endpoints[0]}`);
    session.on('error', () => {});
    const serverGoaways: number[] = [];
    session.on('goaway', (code) => serverGoaways.push(code));
    try {
      await withTimeout(new Promise((r) => session.once('connect', r)), 10_000, 'connect');
      const stream = session.request({
        ':method': 'POST',
        ':path': '/etcdserverpb.KV/Range',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      let status: string | undefined;
      stream.on('response', (h) => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      });
      stream.on('trailers', (t) => {
        status = String(t['grpc-status']);
      });
      stream.on('data', () => {});
      const closed = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode ?? 0)));
      // A RangeRequest {key: "a"} in two pieces, the client's GOAWAY between them.
      stream.write(Buffer.from([0, 0, 0, 0, 3]));
      await sleep(20);
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
      await sleep(50);
      stream.end(Buffer.from([0x0a, 0x01, 0x61]));
      expect(await withTimeout(closed, 10_000, 'the request to end')).toBe(0);
      expect(status).toBe('0');
      await sleep(300);
      expect({ serverGoaways, closed: session.closed || session.destroyed }).toEqual({
        serverGoaways: [],
        closed: false,
      });
    } finally {
      session.destroy();
      await cluster.close();
    }
  }, 60_000);
});
