/**
 * Typed errors. Every error the SDK raises is an `EtcdError` with a stable string `code`, the
 * server's own message and, for server errors, the gRPC status. Classes are matched on the
 * server's message first (that is what etcd's own clients do: several errors share a gRPC
 * code), then on the gRPC code alone. etcd's messages and codes come from the table the server
 * answers with (src/errors), so the two cannot drift apart.
 *
 * `instanceof` survives two copies of this package in one process: each class checks a
 * brand registered under `Symbol.for`, not its own prototype chain.
 */
import { ClientError, Status } from 'nice-grpc-common';
import { ETCD_ERRORS, type EtcdErrorCode } from '../errors/index.js';

const BRAND = Symbol.for('concord.error.code');

/** gRPC status codes by name, as etcd's `rpctypes` uses them. */
export const GrpcStatus = Status;

export class EtcdError extends Error {
  /** A stable identifier for the kind of error, e.g. `'compacted'`. */
  readonly code: string;
  /** gRPC status code when the error came from a server, else undefined. */
  readonly grpcCode: number | undefined;
  /** The server's message (`details` of the gRPC status), or our own for client-side errors. */
  readonly details: string;

  constructor(message: string, opts: { code?: string; grpcCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code ?? (new.target as unknown as { CODE?: string }).CODE ?? 'etcd';
    this.grpcCode = opts.grpcCode;
    this.details = message;
    (this as unknown as Record<symbol, string[]>)[BRAND] = brandsOf(new.target);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const brands = (value as Record<symbol, unknown>)[BRAND];
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass being tested against.
    const code = (this as unknown as { CODE?: string }).CODE;
    if (!Array.isArray(brands)) return false;
    return code === undefined ? true : brands.includes(code);
  }
}

function brandsOf(ctor: unknown): string[] {
  const out: string[] = [];
  let c = ctor as { CODE?: string } | null;
  while (c && c !== Object && c !== Function.prototype) {
    if (Object.hasOwn(c, 'CODE') && c.CODE) out.push(c.CODE);
    c = Object.getPrototypeOf(c);
  }
  return out;
}

function define<C extends string>(code: C) {
  // A named class per kind keeps stack traces and `err.name` readable.
  const cls = class extends EtcdError {
    static CODE: C = code;
  };
  return cls;
}

/** A request was refused because its revision was compacted. */
export class CompactedError extends define('compacted') {
  /** The revision the store is compacted to, when the server said (watch cancellations do). */
  compactRevision: bigint | undefined;
  constructor(message: string, opts: { grpcCode?: number; compactRevision?: bigint; cause?: unknown } = {}) {
    super(message, opts);
    this.compactRevision = opts.compactRevision;
  }
}
export class FutureRevisionError extends define('future-revision') {}
export class LeaseNotFoundError extends define('lease-not-found') {}
export class LeaseExistsError extends define('lease-exists') {}
export class LeaseTTLTooLargeError extends define('lease-ttl-too-large') {}
export class TooManyOpsError extends define('too-many-ops') {}
export class DuplicateKeyError extends define('duplicate-key') {}
export class EmptyKeyError extends define('empty-key') {}
export class RequestTooLargeError extends define('request-too-large') {}
export class TooManyRequestsError extends define('too-many-requests') {}
export class NoSpaceError extends define('no-space') {}
export class InvalidArgumentError extends define('invalid-argument') {}
/** The cluster has no leader (election in progress or quorum lost). Safe to retry reads. */
export class NoLeaderError extends define('no-leader') {}
export class NotLeaderError extends define('not-leader') {}
export class LeaderChangedError extends define('leader-changed') {}
/** The server gave up on the request (`etcdserver: request timed out…`): it may or may not have applied. */
export class ServerTimeoutError extends define('server-timeout') {}
export class UnhealthyClusterError extends define('unhealthy') {}
export class CorruptClusterError extends define('corrupt') {}
export class PermissionDeniedError extends define('permission-denied') {}
export class InvalidAuthTokenError extends define('invalid-auth-token') {}
export class AuthFailedError extends define('auth-failed') {}
export class AuthNotEnabledError extends define('auth-not-enabled') {}
export class UserNotFoundError extends define('user-not-found') {}
export class UserExistsError extends define('user-exists') {}
export class RoleNotFoundError extends define('role-not-found') {}
export class RoleExistsError extends define('role-exists') {}
export class RootUserMissingError extends define('root-user-missing') {}
export class MemberNotFoundError extends define('member-not-found') {}
export class MemberExistsError extends define('member-exists') {}
export class PeerURLExistsError extends define('peer-url-exists') {}
export class MemberBadURLsError extends define('member-bad-urls') {}
export class MemberNotLearnerError extends define('member-not-learner') {}
export class LearnerNotReadyError extends define('learner-not-ready') {}
export class TooManyLearnersError extends define('too-many-learners') {}
export class NotEnoughStartedMembersError extends define('not-enough-started') {}
export class NotSupportedForLearnerError extends define('not-supported-for-learner') {}
export class BadLeaderTransfereeError extends define('bad-leader-transferee') {}
export class WatchCanceledError extends define('watch-canceled') {}
/** No endpoint could be reached (connection refused, DNS failure, every endpoint down). */
export class UnavailableError extends define('unavailable') {}
/** Any other server error; `grpcCode` tells which. */
export class ServerError extends define('server') {}

/** The caller's `timeoutMs` passed before the call finished. */
export class DeadlineExceededError extends define('deadline-exceeded') {}
/** A lease stopped being valid without the user revoking it. */
export class LeaseLostError extends define('lease-lost') {
  readonly leaseId: bigint;
  /** `'expired'`: the server no longer knows it; `'keepalive-failed'`: no keepalive was acknowledged within its TTL. */
  readonly reason: 'expired' | 'keepalive-failed' | 'revoked';
  constructor(message: string, leaseId: bigint, reason: LeaseLostError['reason'], cause?: unknown) {
    super(message, { cause });
    this.leaseId = leaseId;
    this.reason = reason;
  }
}
/** The client was closed while the call was pending, or used after close(). */
export class ClientClosedError extends define('client-closed') {}

type Ctor = new (message: string, opts: { grpcCode?: number; cause?: unknown }) => EtcdError;

/** The classes of etcd's errors the SDK tells apart by message; the others go by gRPC code. */
const BY_ETCD_MESSAGE = [
  CompactedError,
  FutureRevisionError,
  NoSpaceError,
  LeaseNotFoundError,
  LeaseExistsError,
  LeaseTTLTooLargeError,
  TooManyOpsError,
  DuplicateKeyError,
  EmptyKeyError,
  RequestTooLargeError,
  TooManyRequestsError,
  NoLeaderError,
  NotLeaderError,
  LeaderChangedError,
  ServerTimeoutError,
  UnhealthyClusterError,
  CorruptClusterError,
  PermissionDeniedError,
  InvalidAuthTokenError,
  AuthFailedError,
  AuthNotEnabledError,
  UserNotFoundError,
  UserExistsError,
  RoleNotFoundError,
  RoleExistsError,
  RootUserMissingError,
  MemberNotFoundError,
  MemberExistsError,
  PeerURLExistsError,
  MemberBadURLsError,
  LearnerNotReadyError,
  MemberNotLearnerError,
  TooManyLearnersError,
  NotEnoughStartedMembersError,
  NotSupportedForLearnerError,
  BadLeaderTransfereeError,
  WatchCanceledError,
] satisfies ReadonlyArray<Ctor & { CODE: EtcdErrorCode }>;

// Clients match on etcd's messages, so each is etcd's, exact (the table, src/errors). A message
// that extends another comes first, for the prefix match in toEtcdError.
const BY_MESSAGE: ReadonlyArray<[string, Ctor]> = BY_ETCD_MESSAGE.map((C) => [
  ETCD_ERRORS[C.CODE].message,
  C,
]);

/** etcd's message inside a watch cancel reason that quotes a whole gRPC status. */
export function cancelMessage(reason: string): string {
  return /desc = (.*)$/s.exec(reason)?.[1] ?? reason;
}

/**
 * The error a watch cancel reason stands for: etcd writes a refused create's whole gRPC status
 * ("rpc error: code = PermissionDenied desc = etcdserver: permission denied"); undefined when
 * the message is not one of etcd's.
 */
export function fromCancelReason(reason: string): EtcdError | undefined {
  const msg = cancelMessage(reason);
  const C = exactClass(msg);
  return C && new C(msg, {});
}

/** The error class of one of etcd's messages, matched whole. */
function exactClass(msg: string): (typeof BY_MESSAGE)[number][1] | undefined {
  for (const [m, C] of BY_MESSAGE) if (msg === m) return C;
  return undefined;
}

/** True for errors created by `toEtcdError` for a message grpc-js produces when the request never left. */
const NOT_SENT = /No connection established|failed to connect|connect ECONNREFUSED|Name resolution failed/i;

/**
 * grpc-js's dial failures end with parts that say nothing ("… ECONNREFUSED 127.0.0.1:1.
 * Resolution note: ", "Last error: undefined"): they are dropped.
 */
export function withoutEmptyParts(details: string): string {
  return details.replace(
    /(?:^|\.\s*)(?:Resolution note|Last error):\s*(?:undefined|null)?\s*(?=\.\s|$)/g,
    '',
  );
}

/**
 * Turns whatever a call threw into an EtcdError (AbortErrors and EtcdErrors pass through).
 */
export function toEtcdError(err: unknown): unknown {
  if (err instanceof EtcdError) return err;
  if (err instanceof ClientError) {
    const msg = withoutEmptyParts(err.details);
    // Exact message first, then prefix: several etcd messages extend a shorter one
    // ("request timed out, possibly due to previous leader failure").
    const exact = exactClass(msg);
    if (exact) return new exact(msg, { grpcCode: err.code, cause: err });
    for (const [m, C] of BY_MESSAGE) {
      if (msg.startsWith(m)) return new C(msg, { grpcCode: err.code, cause: err });
    }
    if (err.code === Status.RESOURCE_EXHAUSTED && /larger than max/.test(msg)) {
      return new RequestTooLargeError(msg, { grpcCode: err.code, cause: err });
    }
    if (err.code === Status.UNAVAILABLE) return new UnavailableError(msg, { grpcCode: err.code, cause: err });
    if (err.code === Status.INVALID_ARGUMENT) {
      return new InvalidArgumentError(msg, { grpcCode: err.code, cause: err });
    }
    if (err.code === Status.PERMISSION_DENIED) {
      return new PermissionDeniedError(msg, { grpcCode: err.code, cause: err });
    }
    if (err.code === Status.DEADLINE_EXCEEDED) {
      return new DeadlineExceededError(msg, { grpcCode: err.code, cause: err });
    }
    return new ServerError(msg, { grpcCode: err.code, cause: err });
  }
  return err;
}

/** The request certainly did not reach a server: retrying it cannot apply it twice. */
export function wasNotSent(err: unknown): boolean {
  return (
    err instanceof UnavailableError &&
    err.grpcCode === Status.UNAVAILABLE &&
    NOT_SENT.test(err.details) &&
    !err.details.startsWith('etcdserver:')
  );
}

/** The server answered that it cannot serve now; another member may. */
export function isRetryableRead(err: unknown): boolean {
  return (
    err instanceof UnavailableError ||
    err instanceof NoLeaderError ||
    err instanceof LeaderChangedError ||
    err instanceof ServerTimeoutError ||
    err instanceof NotSupportedForLearnerError
  );
}
