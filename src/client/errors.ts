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

/**
 * The base of every error the SDK and the recipes raise: catch it to handle them all, and tell
 * them apart with `instanceof` a subclass or with `code`. Server errors carry etcd's own message
 * in `details` and the gRPC status in `grpcCode`.
 *
 * @example
 * ```ts
 * try {
 *   await client.get('k', { revision: 1 });
 * } catch (e) {
 *   if (e instanceof CompactedError) console.log('compacted at', e.compactRevision);
 *   else if (e instanceof EtcdError) console.log(e.code, e.details);
 *   else throw e;
 * }
 * ```
 */
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

  /**
   * `instanceof` checks the error's brand, not its prototype chain, so it holds across two copies
   * of this package in one process.
   */
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
    /** The `code` of this error, stable across releases and package copies. */
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
/**
 * `etcdserver: mvcc: required revision is a future revision`: a read or watch asked for a revision
 * the store has not reached.
 */
export class FutureRevisionError extends define('future-revision') {}
/** `etcdserver: requested lease not found`: the lease expired or was revoked; grant a new one. */
export class LeaseNotFoundError extends define('lease-not-found') {}
/** `etcdserver: lease already exists`: a lease was granted with an ID that is taken. */
export class LeaseExistsError extends define('lease-exists') {}
/** `etcdserver: too large lease TTL`: the TTL is above the server's maximum. */
export class LeaseTTLTooLargeError extends define('lease-ttl-too-large') {}
/**
 * `etcdserver: too many operations in txn request`: split the transaction (the server's
 * `--max-txn-ops`, 128 by default).
 */
export class TooManyOpsError extends define('too-many-ops') {}
/** `etcdserver: duplicate key given in txn request`: a transaction's branch writes one key twice. */
export class DuplicateKeyError extends define('duplicate-key') {}
/** `etcdserver: key is not provided`: a request named the empty key. */
export class EmptyKeyError extends define('empty-key') {}
/** `etcdserver: request is too large`: the request is above the server's `--max-request-bytes`. */
export class RequestTooLargeError extends define('request-too-large') {}
/**
 * `etcdserver: too many requests`: the member has fallen too far behind in applying what it
 * committed; retry later.
 */
export class TooManyRequestsError extends define('too-many-requests') {}
/**
 * `etcdserver: mvcc: database space exceeded`: the store reached its quota and the NOSPACE alarm
 * is raised; writes are refused until space is freed (compact, defragment) and the alarm is
 * disarmed.
 */
export class NoSpaceError extends define('no-space') {}
/**
 * The server refused a request as malformed (gRPC INVALID_ARGUMENT) with a message the SDK has no
 * class of its own for.
 */
export class InvalidArgumentError extends define('invalid-argument') {}
/** The cluster has no leader (election in progress or quorum lost). Safe to retry reads. */
export class NoLeaderError extends define('no-leader') {}
/**
 * `etcdserver: not leader`: a call that only the leader serves (such as `moveLeader`) reached
 * another member.
 */
export class NotLeaderError extends define('not-leader') {}
/**
 * `etcdserver: leader changed`: leadership moved while the request was in flight; reads are
 * retried, a write may or may not have applied.
 */
export class LeaderChangedError extends define('leader-changed') {}
/** The server gave up on the request (`etcdserver: request timed out…`): it may or may not have applied. */
export class ServerTimeoutError extends define('server-timeout') {}
/**
 * `etcdserver: unhealthy cluster`: a membership change was refused because it would leave the
 * cluster without a quorum of healthy members.
 */
export class UnhealthyClusterError extends define('unhealthy') {}
/**
 * `etcdserver: corrupt cluster`: the CORRUPT alarm is raised (members' data disagree) and the
 * cluster refuses the request until an operator acts.
 */
export class CorruptClusterError extends define('corrupt') {}
/** `etcdserver: permission denied`: the user's roles do not grant this access. */
export class PermissionDeniedError extends define('permission-denied') {}
/**
 * `etcdserver: invalid auth token`: the token expired or was revoked; a client with `auth`
 * authenticates again by itself.
 */
export class InvalidAuthTokenError extends define('invalid-auth-token') {}
/** `etcdserver: authentication failed, invalid user ID or password`. */
export class AuthFailedError extends define('auth-failed') {}
/** `etcdserver: authentication is not enabled`: authenticating while auth is off. */
export class AuthNotEnabledError extends define('auth-not-enabled') {}
/** `etcdserver: user name not found`. */
export class UserNotFoundError extends define('user-not-found') {}
/** `etcdserver: user name already exists`. */
export class UserExistsError extends define('user-exists') {}
/** `etcdserver: role name not found`. */
export class RoleNotFoundError extends define('role-not-found') {}
/** `etcdserver: role name already exists`. */
export class RoleExistsError extends define('role-exists') {}
/** `etcdserver: root user does not exist`: auth cannot be enabled before a `root` user exists. */
export class RootUserMissingError extends define('root-user-missing') {}
/** `etcdserver: member not found`. */
export class MemberNotFoundError extends define('member-not-found') {}
/** `etcdserver: member ID already exist`. */
export class MemberExistsError extends define('member-exists') {}
/** `etcdserver: Peer URLs already exists`: another member already uses one of these peer URLs. */
export class PeerURLExistsError extends define('peer-url-exists') {}
/** `etcdserver: given member URLs are invalid`. */
export class MemberBadURLsError extends define('member-bad-urls') {}
/** `etcdserver: can only promote a learner member`. */
export class MemberNotLearnerError extends define('member-not-learner') {}
/**
 * `etcdserver: can only promote a learner member which is in sync with leader`: wait for the
 * learner to catch up, then promote again.
 */
export class LearnerNotReadyError extends define('learner-not-ready') {}
/** `etcdserver: too many learner members in cluster`. */
export class TooManyLearnersError extends define('too-many-learners') {}
/**
 * `etcdserver: re-configuration failed due to not enough started members`: the change would
 * leave too few started members for a quorum.
 */
export class NotEnoughStartedMembersError extends define('not-enough-started') {}
/**
 * `etcdserver: rpc not supported for learner`: the call reached a learner, which does not serve
 * it; reads are retried on another member.
 */
export class NotSupportedForLearnerError extends define('not-supported-for-learner') {}
/**
 * `etcdserver: bad leader transferee`: `moveLeader` named a member that cannot lead (unknown, or a
 * learner).
 */
export class BadLeaderTransfereeError extends define('bad-leader-transferee') {}
/** The server canceled a watch for a reason with no class of its own (the message says which). */
export class WatchCanceledError extends define('watch-canceled') {}
/** No endpoint could be reached (connection refused, DNS failure, every endpoint down). */
export class UnavailableError extends define('unavailable') {}
/** Any other server error; `grpcCode` tells which. */
export class ServerError extends define('server') {}

/** The caller's `timeoutMs` passed before the call finished. */
export class DeadlineExceededError extends define('deadline-exceeded') {}
/** A lease stopped being valid without the user revoking it. */
export class LeaseLostError extends define('lease-lost') {
  /** The ID of the lease that was lost. */
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
