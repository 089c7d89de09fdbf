/**
 * The one middleware of the client gRPC server, driven as nice-grpc drives it (one generator per
 * call): its steps in their order, and the counters it keeps.
 */
import { type CallContext, Metadata, ServerError, type ServerMiddlewareCall, Status } from 'nice-grpc-common';
import { callMiddleware, Undecodable } from '../../src/server/api/call-middleware.js';
import { CERT_USER_KEY } from '../../src/server/auth/cert-users.js';
import type { Node } from '../../src/server/bootstrap/node.js';
import { MessageTooLargeError } from '../../src/server/errors.js';
import { ServerMetrics } from '../../src/server/metrics.js';

const RANGE = '/etcdserverpb.KV/Range';
const PUT = '/etcdserverpb.KV/Put';

function fixture(opts: { learner?: boolean; certUser?: string; tooLarge?: unknown } = {}) {
  const metrics = new ServerMetrics({
    hasLeader: () => true,
    isLeader: () => true,
    dbSizeBytes: () => 0,
    watchers: () => 0,
  });
  const node = {
    metrics,
    certUsers: { userOf: () => opts.certUser },
    proposer: { isLearner: opts.learner === true },
    hasLeader: true,
    leaderRequired: new Set(),
  } as unknown as Node;
  const middleware = callMiddleware(node, {
    certAuth: opts.certUser !== undefined,
    check(msg) {
      if (msg === opts.tooLarge) throw new MessageTooLargeError(10, 5);
    },
  });
  const counted = async (path: string, code?: string): Promise<number> => {
    const [, service, method] = path.split('/');
    const labels = { grpc_type: 'unary', grpc_service: service!, grpc_method: method! };
    const name = code === undefined ? 'grpc_server_started_total' : 'grpc_server_handled_total';
    const m = (await metrics.registry.getSingleMetric(name)!.get()).values;
    const want = code === undefined ? labels : { ...labels, grpc_code: code };
    return (
      m.find((v) => Object.entries(want).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
        ?.value ?? 0
    );
  };
  return { middleware, counted };
}

/** Runs one unary call through the middleware: what nice-grpc's unary handler does. */
async function unary(
  middleware: ReturnType<typeof callMiddleware>,
  path: string,
  request: unknown,
  handler: (req: unknown, ctx: CallContext) => Promise<unknown>,
  context: Partial<CallContext> = {},
): Promise<unknown> {
  const ctx = {
    metadata: Metadata(),
    peer: '127.0.0.1:5000',
    signal: new AbortController().signal,
    ...context,
  } as CallContext;
  const call = {
    method: { path, requestStream: false, responseStream: false, options: {} },
    requestStream: false,
    responseStream: false,
    request,
    // biome-ignore lint/correctness/useYield: nice-grpc's unary handler is a generator that only returns.
    async *next(req: unknown, c: CallContext) {
      return await handler(req, c);
    },
  } as unknown as ServerMiddlewareCall<unknown, unknown>;
  const it = middleware(call, ctx)[Symbol.asyncIterator]();
  const r = await it.next();
  return r.value;
}

test('an undecodable request is INTERNAL in grpc-go words, refused before it is counted', async () => {
  const { middleware, counted } = fixture();
  const handler = jest.fn();
  await expect(unary(middleware, PUT, new Undecodable('unexpected EOF'), handler)).rejects.toEqual(
    new ServerError(Status.INTERNAL, 'grpc: error unmarshalling request: unexpected EOF'),
  );
  expect(handler).not.toHaveBeenCalled();
  expect(await counted(PUT)).toBe(0);
  expect(await counted(PUT, 'Internal')).toBe(0);
});

test('a call is counted as started and handled with the etcd status its error became', async () => {
  const { middleware, counted } = fixture();
  expect(await unary(middleware, PUT, {}, async () => 'ok')).toBe('ok');
  await expect(
    unary(middleware, PUT, {}, async () => {
      throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    }),
  ).rejects.toEqual(new ServerError(Status.CANCELLED, 'context canceled'));
  const aborted = new AbortController();
  aborted.abort();
  await unary(middleware, PUT, {}, async () => 'late', { signal: aborted.signal });
  expect(await counted(PUT)).toBe(3);
  expect(await counted(PUT, 'OK')).toBe(1);
  // The handler's AbortError, and a call that answered after its client cancelled it.
  expect(await counted(PUT, 'Canceled')).toBe(2);
});

test('a message over the limit is refused with etcd status, and counted', async () => {
  const big = {};
  const { middleware, counted } = fixture({ tooLarge: big });
  const handler = jest.fn();
  await expect(unary(middleware, PUT, big, handler)).rejects.toMatchObject({
    code: Status.RESOURCE_EXHAUSTED,
  });
  expect(handler).not.toHaveBeenCalled();
  expect(await counted(PUT, 'ResourceExhausted')).toBe(1);
});

test('a learner serves serializable ranges only', async () => {
  const { middleware, counted } = fixture({ learner: true });
  expect(await unary(middleware, RANGE, { serializable: true }, async () => 'read')).toBe('read');
  await expect(unary(middleware, RANGE, { serializable: false }, async () => 'read')).rejects.toEqual(
    new ServerError(Status.UNAVAILABLE, 'etcdserver: rpc not supported for learner'),
  );
  await expect(unary(middleware, PUT, {}, async () => 'ok')).rejects.toBeInstanceOf(ServerError);
  expect(await counted(RANGE, 'Unavailable')).toBe(1);
});

test('only a certificate names the cert user: a client-sent value is dropped', async () => {
  const seen: (string | undefined)[] = [];
  const handler = async (_: unknown, ctx: CallContext) => {
    seen.push(ctx.metadata.get(CERT_USER_KEY) as string | undefined);
    return 'ok';
  };
  const forged = () => Metadata({ [CERT_USER_KEY]: 'root' });
  await unary(fixture().middleware, RANGE, {}, handler, { metadata: forged() });
  await unary(fixture({ certUser: 'alice' }).middleware, RANGE, {}, handler, { metadata: forged() });
  expect(seen).toEqual([undefined, 'alice']);
});
