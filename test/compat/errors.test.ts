/**
 * Typed errors: etcd's refusals come back as the right class with `code`, `grpcCode` and etcd's
 * exact message, and leave the store unchanged. Plus unit checks (no etcd) of `instanceof`
 * across module copies and of `toEtcdError`.
 */
import { ClientError, Status } from 'nice-grpc-common';
import {
  CompactedError,
  compare,
  DuplicateKeyError,
  EmptyKeyError,
  EtcdError,
  FutureRevisionError,
  InvalidArgumentError,
  LearnerNotReadyError,
  LeaseNotFoundError,
  MemberNotLearnerError,
  NoLeaderError,
  op,
  PermissionDeniedError,
  RequestTooLargeError,
  ServerError,
  ServerTimeoutError,
  TooManyOpsError,
  toEtcdError,
  UnavailableError,
} from '../../src/index.js';
import { etcdSuite } from '../harness/etcd-suite.js';

type ErrorsModule = typeof import('../../src/client/errors.js');

function loadErrorsCopy(): ErrorsModule {
  let mod: ErrorsModule | undefined;
  jest.isolateModules(() => {
    mod = require('../../src/client/errors.js') as ErrorsModule;
  });
  return mod!;
}

describe('error classes (no etcd)', () => {
  test('instanceof works across two copies of the errors module', () => {
    const a = loadErrorsCopy();
    const b = loadErrorsCopy();
    // Really two copies: different class objects.
    expect(a.CompactedError).not.toBe(b.CompactedError);
    expect(a.EtcdError).not.toBe(b.EtcdError);

    const err = new a.CompactedError('etcdserver: mvcc: required revision has been compacted', {
      grpcCode: Status.OUT_OF_RANGE,
    });
    expect(err).toBeInstanceOf(b.CompactedError);
    expect(err).toBeInstanceOf(b.EtcdError);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(b.FutureRevisionError);
    expect(err).not.toBeInstanceOf(b.LeaseNotFoundError);
    expect(err).not.toBeInstanceOf(a.FutureRevisionError);
    // And with the copy the SDK entry point uses.
    expect(err).toBeInstanceOf(CompactedError);
    expect(err).not.toBeInstanceOf(FutureRevisionError);
    expect(new FutureRevisionError('x')).toBeInstanceOf(a.FutureRevisionError);
    expect(new FutureRevisionError('x')).not.toBeInstanceOf(a.CompactedError);

    // Subclasses with extra fields keep them; a plain Error is none of these.
    expect(err.code).toBe('compacted');
    expect(err.grpcCode).toBe(Status.OUT_OF_RANGE);
    expect(err.name).toBe('CompactedError');
    expect(new Error('etcdserver: mvcc: required revision has been compacted')).not.toBeInstanceOf(
      b.EtcdError,
    );
    expect({ code: 'compacted' }).not.toBeInstanceOf(b.CompactedError);
    expect(null).not.toBeInstanceOf(b.EtcdError);

    // toEtcdError of copy B passes copy A's errors through untouched.
    expect(b.toEtcdError(err)).toBe(err);
    const lost = new a.LeaseLostError('lease 1 expired', 1n, 'expired');
    expect(lost).toBeInstanceOf(b.LeaseLostError);
    expect(lost).not.toBeInstanceOf(b.LeaseNotFoundError);
  });

  test('toEtcdError maps a ClientError by its message first, then by gRPC code', () => {
    const conv = (code: Status, details: string) =>
      toEtcdError(new ClientError('/etcdserverpb.KV/Range', code, details));

    const c = conv(Status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
    expect(c).toBeInstanceOf(CompactedError);
    expect(c).toMatchObject({
      code: 'compacted',
      grpcCode: Status.OUT_OF_RANGE,
      message: 'etcdserver: mvcc: required revision has been compacted',
    });
    expect((c as EtcdError).cause).toBeInstanceOf(ClientError);

    // Same gRPC code, different message, different class.
    const f = conv(Status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
    expect(f).toBeInstanceOf(FutureRevisionError);
    expect(f).not.toBeInstanceOf(CompactedError);

    // Three etcd errors share INVALID_ARGUMENT: the message decides.
    expect(conv(Status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request')).toBeInstanceOf(
      TooManyOpsError,
    );
    expect(conv(Status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request')).toBeInstanceOf(
      DuplicateKeyError,
    );
    expect(conv(Status.INVALID_ARGUMENT, 'etcdserver: key is not provided')).toBeInstanceOf(EmptyKeyError);
    // An unknown INVALID_ARGUMENT message: the code decides.
    const ia = conv(Status.INVALID_ARGUMENT, 'etcdserver: key not found');
    expect(ia).toBeInstanceOf(InvalidArgumentError);
    expect(ia).not.toBeInstanceOf(EmptyKeyError);

    // Longer messages that extend a known one.
    expect(
      conv(Status.UNAVAILABLE, 'etcdserver: request timed out, possibly due to previous leader failure'),
    ).toBeInstanceOf(ServerTimeoutError);
    // The exact match wins over a shorter prefix.
    expect(
      conv(
        Status.FAILED_PRECONDITION,
        'etcdserver: can only promote a learner member which is in sync with leader',
      ),
    ).toBeInstanceOf(LearnerNotReadyError);
    expect(conv(Status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member')).toBeInstanceOf(
      MemberNotLearnerError,
    );
    expect(conv(Status.UNAVAILABLE, 'etcdserver: no leader')).toBeInstanceOf(NoLeaderError);

    // etcd's ErrGRPCPermissionDenied (codes.PermissionDenied), keeping the server's message.
    const denied = conv(Status.PERMISSION_DENIED, 'etcdserver: permission denied');
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(denied).toMatchObject({
      code: 'permission-denied',
      grpcCode: Status.PERMISSION_DENIED,
      message: 'etcdserver: permission denied',
    });
    expect(denied).not.toBeInstanceOf(ServerError);
    // Another PERMISSION_DENIED message (a proxy's, say): the code decides.
    const proxied = conv(Status.PERMISSION_DENIED, 'denied by policy');
    expect(proxied).toBeInstanceOf(PermissionDeniedError);
    expect(proxied).toMatchObject({ message: 'denied by policy' });

    // gRPC's own size refusal.
    const big = conv(Status.RESOURCE_EXHAUSTED, 'grpc: received message larger than max (3 vs. 2)');
    expect(big).toBeInstanceOf(RequestTooLargeError);
    expect((big as EtcdError).grpcCode).toBe(Status.RESOURCE_EXHAUSTED);

    const un = conv(Status.UNAVAILABLE, 'No connection established');
    expect(un).toBeInstanceOf(UnavailableError);
    const other = conv(Status.INTERNAL, 'something else');
    expect(other).toBeInstanceOf(ServerError);
    expect(other).toMatchObject({ code: 'server', grpcCode: Status.INTERNAL, message: 'something else' });

    // Non-gRPC errors pass through.
    const plain = new TypeError('x');
    expect(toEtcdError(plain)).toBe(plain);
  });
});

describe('etcd refusals', () => {
  const etcd = etcdSuite({ members: 1, name: 'compat-errors' });

  /** The whole store: keys, values and revision numbers. */
  async function snapshot(): Promise<string> {
    const r = await etcd.client.range({ prefix: '' });
    return JSON.stringify(
      r.kvs.map((kv) => [
        kv.key.toString('hex'),
        kv.value.toString('hex'),
        `${kv.modRevision}`,
        `${kv.version}`,
      ]),
    );
  }

  async function expectRefused<E extends EtcdError>(
    p: Promise<unknown>,
    cls: abstract new (...args: never[]) => E,
    code: string,
    grpcCode: Status,
    message: string,
  ): Promise<E> {
    const err = await p.then(
      () => {
        throw new Error(`expected ${cls.name}, but the call succeeded`);
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(EtcdError);
    const e = err as E;
    expect(e.constructor).toBe(cls);
    expect(e.code).toBe(code);
    expect(e.grpcCode).toBe(grpcCode);
    expect(e.message).toBe(message);
    return e;
  }

  beforeEach(async () => {
    await etcd.client.put('err/existing', 'unchanged');
  });

  test('129 ops in a txn: TooManyOpsError', async () => {
    const before = await snapshot();
    const rev = (await etcd.client.range('err/existing')).header.revision;
    const ops = Array.from({ length: 129 }, (_, i) => op.put(`err/many/${i}`, 'x'));
    await expectRefused(
      etcd.client
        .txn()
        .success(...ops)
        .commit(),
      TooManyOpsError,
      'too-many-ops',
      Status.INVALID_ARGUMENT,
      'etcdserver: too many operations in txn request',
    );
    expect(await snapshot()).toBe(before);
    expect((await etcd.client.range('err/existing')).header.revision).toBe(rev);
    // 128 is the limit, not 127.
    const ok = await etcd.client
      .txn()
      .success(...ops.slice(0, 128))
      .commit();
    expect(ok.succeeded).toBe(true);
    expect(await etcd.client.count({ prefix: 'err/many/' })).toBe(128n);
    await etcd.client.delete({ prefix: 'err/many/' });
  });

  test('the same key twice in a txn: DuplicateKeyError', async () => {
    const before = await snapshot();
    await expectRefused(
      etcd.client.txn().success(op.put('err/dup', 'a'), op.put('err/dup', 'b')).commit(),
      DuplicateKeyError,
      'duplicate-key',
      Status.INVALID_ARGUMENT,
      'etcdserver: duplicate key given in txn request',
    );
    // A put inside a range deleted by the same txn counts too.
    await expectRefused(
      etcd.client
        .txn()
        .if(compare.exists('err/existing'))
        .success(op.delete({ prefix: 'err/' }), op.put('err/existing', 'changed'))
        .commit(),
      DuplicateKeyError,
      'duplicate-key',
      Status.INVALID_ARGUMENT,
      'etcdserver: duplicate key given in txn request',
    );
    expect(await snapshot()).toBe(before);
    expect(await etcd.client.get('err/dup')).toBeUndefined();
  });

  test('put with an unknown lease: LeaseNotFoundError', async () => {
    const before = await snapshot();
    await expectRefused(
      etcd.client.put('err/existing', 'changed', { lease: 0x7e57_1ea5_e000_0001n }),
      LeaseNotFoundError,
      'lease-not-found',
      Status.NOT_FOUND,
      'etcdserver: requested lease not found',
    );
    expect(await snapshot()).toBe(before);
    expect(await etcd.client.getString('err/existing')).toBe('unchanged');
  });

  test('a 2 MiB value: RequestTooLargeError (gRPC limit); 1.6 MiB: RequestTooLargeError (etcd limit)', async () => {
    const before = await snapshot();
    // etcd accepts gRPC messages up to --max-request-bytes (1.5 MiB) + 512 KiB; past that gRPC refuses.
    // The request is the value plus 19 bytes of key and framing.
    const e2 = await expectRefused(
      etcd.client.put('err/existing', Buffer.alloc(2 * 1024 * 1024, 0x61)),
      RequestTooLargeError,
      'request-too-large',
      Status.RESOURCE_EXHAUSTED,
      'grpc: received message larger than max (2097171 vs. 2097152)',
    );
    expect(e2.details).toBe(e2.message);
    // Between the two limits etcd itself refuses, with its own message.
    await expectRefused(
      etcd.client.put('err/existing', Buffer.alloc(1.6 * 1024 * 1024, 0x61)),
      RequestTooLargeError,
      'request-too-large',
      Status.INVALID_ARGUMENT,
      'etcdserver: request is too large',
    );
    expect(await snapshot()).toBe(before);
    expect(await etcd.client.getString('err/existing')).toBe('unchanged');
  });

  test('an empty key: EmptyKeyError', async () => {
    const before = await snapshot();
    await expectRefused(
      etcd.client.put('', 'v'),
      EmptyKeyError,
      'empty-key',
      Status.INVALID_ARGUMENT,
      'etcdserver: key is not provided',
    );
    await expectRefused(
      etcd.client.put(Buffer.alloc(0), 'v'),
      EmptyKeyError,
      'empty-key',
      Status.INVALID_ARGUMENT,
      'etcdserver: key is not provided',
    );
    // Reading or deleting an empty key is refused the same way.
    await expectRefused(
      etcd.client.get(''),
      EmptyKeyError,
      'empty-key',
      Status.INVALID_ARGUMENT,
      'etcdserver: key is not provided',
    );
    expect(await snapshot()).toBe(before);
  });

  test('a client keeps working after each refusal', async () => {
    await etcd.client.put('', 'v').catch(() => {});
    await etcd.client.put('err/after', 'ok');
    expect(await etcd.client.getString('err/after')).toBe('ok');
  });
});
