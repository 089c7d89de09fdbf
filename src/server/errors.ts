/**
 * Errors the server itself raises (the state machine's live in src/mvcc/errors.ts), each with
 * etcd's exact message and gRPC code (api/v3rpc/rpctypes), and the one function that turns any
 * error into the gRPC status a client sees.
 */
import { ClientError, ServerError, Status } from 'nice-grpc-common';
import { defaultLogger } from '../log.js';
import { MvccError } from '../mvcc/index.js';

export class ServerRequestError extends Error {
  readonly grpcCode: Status;
  constructor(message: string, grpcCode: Status) {
    super(message);
    this.name = new.target.name;
    this.grpcCode = grpcCode;
  }
}

/** The encoded request exceeds --max-request-bytes (etcd checks the marshalled raft request). */
export class RequestTooLargeError extends ServerRequestError {
  constructor() {
    super('etcdserver: request is too large', Status.INVALID_ARGUMENT);
  }
}

/**
 * A committed entry that could not be applied (a bug, or bytes this build cannot read). The
 * request fails on its own, alike on every member; the entry counts as applied. etcd has no
 * such error: its apply panics.
 */
export class ApplyFailedError extends ServerRequestError {
  constructor(index: number, cause: unknown) {
    super(
      `etcdserver: request could not be applied at index ${index}: ${cause instanceof Error ? cause.message : String(cause)}`,
      Status.INTERNAL,
    );
  }
}

/** A gRPC message over the receive limit (etcd: max-request-bytes + 512 KiB), as grpc-go words it. */
export class MessageTooLargeError extends ServerRequestError {
  constructor(size: number, limit: number) {
    super(`grpc: received message larger than max (${size} vs. ${limit})`, Status.RESOURCE_EXHAUSTED);
  }
}

export class StoppedError extends ServerRequestError {
  constructor() {
    super('etcdserver: server stopped', Status.UNAVAILABLE);
  }
}

export class RequestTimeoutError extends ServerRequestError {
  constructor() {
    super('etcdserver: request timed out', Status.UNAVAILABLE);
  }
}

export class MemberNotFoundError extends ServerRequestError {
  constructor() {
    super('etcdserver: member not found', Status.NOT_FOUND);
  }
}

export class MemberExistsError extends ServerRequestError {
  constructor() {
    super('etcdserver: member ID already exist', Status.FAILED_PRECONDITION);
  }
}

export class PeerUrlExistsError extends ServerRequestError {
  constructor() {
    super('etcdserver: Peer URLs already exists', Status.FAILED_PRECONDITION);
  }
}

export class MemberNotLearnerError extends ServerRequestError {
  constructor() {
    super('etcdserver: can only promote a learner member', Status.FAILED_PRECONDITION);
  }
}

export class LearnerNotReadyError extends ServerRequestError {
  constructor() {
    super(
      'etcdserver: can only promote a learner member which is in sync with leader',
      Status.FAILED_PRECONDITION,
    );
  }
}

export class NotSupportedForLearnerError extends ServerRequestError {
  constructor() {
    super('etcdserver: rpc not supported for learner', Status.UNAVAILABLE);
  }
}

export class NotLeaderError extends ServerRequestError {
  constructor() {
    super('etcdserver: not leader', Status.FAILED_PRECONDITION);
  }
}

export class BadLeaderTransfereeError extends ServerRequestError {
  constructor() {
    super('etcdserver: bad leader transferee', Status.FAILED_PRECONDITION);
  }
}

export class LeaderTransferTimeoutError extends ServerRequestError {
  constructor() {
    super('etcdserver: request timed out, leader transfer took too long', Status.UNAVAILABLE);
  }
}

export class NoLeaderError extends ServerRequestError {
  constructor() {
    super('etcdserver: no leader', Status.UNAVAILABLE);
  }
}

export class LeaderChangedError extends ServerRequestError {
  constructor() {
    super('etcdserver: leader changed', Status.UNAVAILABLE);
  }
}

/** A call only the leader answers reached a member that is not (etcd's ErrNotPrimary). */
export class NotPrimaryError extends ServerRequestError {
  constructor() {
    super('not a primary lessor', Status.FAILED_PRECONDITION);
  }
}

export class CanceledError extends ServerRequestError {
  constructor() {
    super('context canceled', Status.CANCELLED);
  }
}

export class UnimplementedError extends ServerRequestError {
  constructor(what: string) {
    super(`concord: ${what} is not implemented yet`, Status.UNIMPLEMENTED);
  }
}

/** A member flag or option that this build refuses (e.g. more than one member in the single-node slice). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * The gRPC status for an error thrown by a handler. Known errors keep their message; anything
 * else is a bug: it is logged and answered as etcd answers an unexpected error (UNKNOWN).
 */
export function toServerError(
  err: unknown,
  log: (msg: string) => void = (m) => defaultLogger().error(m),
): ServerError {
  if (err instanceof ServerError) return err;
  // A call forwarded to the leader failed there: its status is the answer.
  if (err instanceof ClientError) return new ServerError(err.code, err.details);
  if (err instanceof MvccError || err instanceof ServerRequestError)
    return new ServerError(err.grpcCode, err.message);
  if (err instanceof Error && err.name === 'AbortError')
    return new ServerError(Status.CANCELLED, 'context canceled');
  log(
    `unexpected error in a request handler: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
  return new ServerError(Status.UNKNOWN, err instanceof Error ? err.message : String(err));
}
