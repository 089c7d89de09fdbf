/**
 * Connection hygiene on the client port (issue 23, item 5), probed with raw sockets and Node's
 * http2 client against real etcd 3.4 and against Concord, with the same assertions: a
 * connection error (a bad frame) closes the connection at once; a message declaring more than
 * the receive limit is refused from its prefix while the body never comes; the compressed flag
 * without an encoding, another flag, a malformed message, a request cut in a message or
 * missing are refused with grpc-go's status; the member answers a normal Range after each.
 *
 * Where Concord bounds what etcd does not (a stream stalled in the middle of a message, a
 * connection whose first bytes never come), both are probed and each target's own outcome is
 * asserted. Both members run with --grpc-keepalive-timeout=2s, Concord's stall bound.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { BOTH_TARGETS } from '../harness/targets.js';

/** etcd's default --max-request-bytes (1.5 MiB) plus grpc-go's 512 KiB of overhead. */
const RECEIVE_LIMIT = 2 * 1024 * 1024;
const STALL_TIMEOUT_S = 2;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** An HTTP/2 frame: 9-byte header, then the payload. */
function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** Frames each a connection error (RFC 9113 §5.4.1), sent after the preface and a SETTINGS. */
const BAD_FRAMES: Record<string, Buffer> = {
  'DATA on stream 0': frame(0x0, 0, 0, Buffer.from([1])),
  'SETTINGS of 3 bytes': frame(0x4, 0, 0, Buffer.from([0, 0, 0])),
  'a frame above SETTINGS_MAX_FRAME_SIZE': Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]),
  'WINDOW_UPDATE of 0 on stream 0': frame(0x8, 0, 0, Buffer.alloc(4)),
};

/** gRPC's length-prefixed message: flag, uint32 BE length, then `body`. */
function message(body: Buffer | number[], flag = 0, declared?: number): Buffer {
  const bytes = Buffer.from(body);
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(declared ?? bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
}

/** RangeRequest{key: "a"}. */
const RANGE_A = [0x0a, 0x01, 0x61];

interface Answer {
  /** grpc-status and grpc-message (decoded), from the trailers or a trailers-only answer. */
  status?: string;
  message?: string;
  /** The stream's RST_STREAM code once it closed. */
  rstCode?: number;
  /** Whether the server closed the stream before `waitMs` (we never reset it ourselves before). */
  closed: boolean;
}

/** The code a gRPC client reads: the status, or the one grpc-go and grpc-js map a reset to. */
function clientCode(a: Answer): number | undefined {
  if (a.status !== undefined) return Number(a.status);
  const byReset: Record<number, number> = { 8: 1, 11: 8, 2: 13 };
  return a.rstCode === undefined ? undefined : byReset[a.rstCode];
}

async function withSession<T>(
  endpoint: string,
  f: (session: http2.ClientHttp2Session) => Promise<T>,
): Promise<T> {
  const session = http2.connect(`http://${endpoint}`);
  session.on('error', () => {});
  try {
    return await f(session);
  } finally {
    session.destroy();
  }
}

/** Sends one gRPC request by hand; waits up to `waitMs` for the server to close the stream. */
function call(
  session: http2.ClientHttp2Session,
  method: string,
  body: Buffer,
  opts: {
    end?: boolean;
    headers?: http2.OutgoingHttpHeaders;
    waitMs?: number;
    /** Written `nextAfterMs` (300) after `body`; the request is then never ended. */
    next?: Buffer;
    nextAfterMs?: number;
  } = {},
): Promise<Answer> {
  const { end = true, headers = {}, waitMs = 5_000 } = opts;
  return new Promise((resolve) => {
    const req = session.request({
      ':method': 'POST',
      ':path': method,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    const answer: Answer = { closed: false };
    const note = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) answer.status = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) answer.message = decodeURIComponent(String(h['grpc-message']));
    };
    req.on('response', note);
    req.on('trailers', note);
    req.on('error', () => {});
    req.resume();
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      resolve(answer);
    }, waitMs);
    req.on('close', () => {
      clearTimeout(timer);
      if (!answer.closed && req.rstCode !== undefined) answer.rstCode = req.rstCode;
      answer.closed = true;
      resolve(answer);
    });
    req.write(body);
    if (opts.next) setTimeout(() => !req.closed && req.write(opts.next), opts.nextAfterMs ?? 300);
    else if (end) req.end();
  });
}

/** Opens a raw connection, writes `bytes`, and resolves with whether the server closed it within `ms`. */
function closedWithin(endpoint: string, bytes: Buffer, ms: number): Promise<boolean> {
  const [host, port] = endpoint.split(':');
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), host);
    socket.on('error', () => {});
    socket.resume();
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.on('connect', () => bytes.length > 0 && socket.write(bytes));
  });
}

describe.each(BOTH_TARGETS)('connection hygiene on %s', (target, bin) => {
  const etcd = etcdSuite({
    members: 1,
    bin,
    name: `hygiene-${target}`,
    extraArgs: [`--grpc-keepalive-timeout=${STALL_TIMEOUT_S}s`],
  });
  let endpoint: string;
  beforeAll(() => {
    endpoint = etcd.cluster.endpoints[0]!;
  });

  /** A normal Range, after each probe: the member is still serving. */
  const rangeStillAnswers = async () => {
    const a = await withSession(endpoint, (s) => call(s, '/etcdserverpb.KV/Range', message(RANGE_A)));
    expect(a).toMatchObject({ status: '0', closed: true });
  };

  test('a connection error closes the connection at once (20 connections, closed within 10 s)', async () => {
    const kinds = Object.values(BAD_FRAMES);
    const bytes = (i: number) => Buffer.concat([PREFACE, frame(0x4, 0, 0), kinds[i % kinds.length]!]);
    const closed = await withTimeout(
      Promise.all(Array.from({ length: 20 }, (_, i) => closedWithin(endpoint, bytes(i), 10_000))),
      20_000,
      'the probes',
    );
    expect(closed.filter(Boolean)).toHaveLength(20);
    await rangeStillAnswers();
  }, 30_000);

  test.each([
    ['100 MiB', 100 * 1024 * 1024],
    ['3 MiB', 3 * 1024 * 1024],
  ])(
    'a message declaring %s is refused from its prefix, the body never sent',
    async (_size, declared) => {
      const a = await withSession(endpoint, (s) =>
        call(s, '/etcdserverpb.KV/Put', message([], 0, declared), { end: false }),
      );
      expect(a).toMatchObject({
        status: '8',
        message: `grpc: received message larger than max (${declared} vs. ${RECEIVE_LIMIT})`,
        closed: true,
      });
      await rangeStillAnswers();
    },
    20_000,
  );

  test('on a watch stream already answered, an oversized message ends it as RESOURCE_EXHAUSTED', async () => {
    // WatchRequest{create_request{key: "a"}}, then a second message declaring 100 MiB.
    const create = message([0x0a, 0x03, 0x0a, 0x01, 0x61]);
    const a = await withSession(endpoint, (s) =>
      call(s, '/etcdserverpb.Watch/Watch', create, { next: message([], 0, 100 * 1024 * 1024) }),
    );
    expect(a.closed).toBe(true);
    expect(clientCode(a)).toBe(8);
    await rangeStillAnswers();
  }, 20_000);

  test.each([
    ['no grpc-encoding', {}],
    ['grpc-encoding identity', { 'grpc-encoding': 'identity' }],
  ])('the compressed flag with %s is INTERNAL', async (_case, headers) => {
    const a = await withSession(endpoint, (s) =>
      call(s, '/etcdserverpb.KV/Range', message(RANGE_A, 1), { headers, end: false }),
    );
    expect(a).toMatchObject({
      status: '13',
      message: 'grpc: compressed flag set with identity or empty encoding',
      closed: true,
    });
    await rangeStillAnswers();
  });

  test('a flag other than 0 and 1 is INTERNAL', async () => {
    const a = await withSession(endpoint, (s) => call(s, '/etcdserverpb.KV/Range', message(RANGE_A, 2)));
    expect(a).toMatchObject({
      status: '13',
      message: 'grpc: received unexpected payload format 2',
      closed: true,
    });
  });

  test.each([
    ['random bytes', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['a field longer than the message', [0x0a, 0x10, 0x61, 0x62]],
  ])('a malformed protobuf (%s) is INTERNAL, error unmarshalling request', async (_case, body) => {
    const a = await withSession(endpoint, (s) => call(s, '/etcdserverpb.KV/Range', message(body)));
    expect(a).toMatchObject({
      status: '13',
      message: 'grpc: error unmarshalling request: unexpected EOF',
      closed: true,
    });
    await rangeStillAnswers();
  });

  test('a request that ends in the middle of a message, or without one, is UNKNOWN', async () => {
    await withSession(endpoint, async (s) => {
      expect(await call(s, '/etcdserverpb.KV/Range', message(RANGE_A, 0, 10))).toMatchObject({
        status: '2',
        message: 'unexpected EOF',
      });
      expect(await call(s, '/etcdserverpb.KV/Range', Buffer.from([0, 0]))).toMatchObject({
        status: '2',
        message: 'unexpected EOF',
      });
      expect(await call(s, '/etcdserverpb.KV/Range', Buffer.alloc(0))).toMatchObject({
        status: '2',
        message: 'EOF',
      });
    });
  });

  // Bounds etcd does not have: the same probe, each target's outcome.

  test(`a stream stalled in the middle of a message: etcd keeps it, Concord resets it (${STALL_TIMEOUT_S} s)`, async () => {
    const waitMs = STALL_TIMEOUT_S * 1000 + 6_000;
    const a = await withSession(endpoint, (s) =>
      call(s, '/etcdserverpb.KV/Range', message(RANGE_A, 0, 10), { end: false, waitMs }),
    );
    if (target === 'etcd') expect(a.closed).toBe(false);
    else expect(a).toMatchObject({ closed: true, rstCode: http2.constants.NGHTTP2_CANCEL });
    await rangeStillAnswers();
  }, 30_000);

  test('a connection whose first bytes never come: etcd keeps it, Concord closes it (10 s)', async () => {
    const [silent, partial] = await Promise.all([
      closedWithin(endpoint, Buffer.alloc(0), 16_000),
      closedWithin(endpoint, PREFACE.subarray(0, 16), 16_000),
    ]);
    expect([silent, partial]).toEqual(target === 'etcd' ? [false, false] : [true, true]);
    await rangeStillAnswers();
  }, 30_000);
});
