/**
 * Errors the server itself raises (the state machine's live in src/mvcc/errors.ts), each with a
 * stable `code` and, for etcd's errors, etcd's exact message and gRPC status from the one table
 * (src/errors); and the one function that turns any error into the gRPC status a client sees.
 */
import { ClientError, ServerError, Status } from 'nice-grpc-common';
import { ETCD_ERRORS, type EtcdErrorCode, etcdErrorOf, StatusError } from '../errors/index.js';
import { defaultLogger } from '../log.js';

export class ServerRequestError extends StatusError {}

const etcdError = (code: EtcdErrorCode) => etcdErrorOf(ServerRequestError, code);

/** The encoded request exceeds --max-request-bytes (etcd checks the marshalled raft request). */
export class RequestTooLargeError extends etcdError('request-too-large') {}

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
      'apply-failed',
    );
  }
}

/** A gRPC message over the receive limit (etcd: max-request-bytes + 512 KiB), as grpc-go words it. */
export class MessageTooLargeError extends ServerRequestError {
  constructor(size: number, limit: number) {
    super(
      `grpc: received message larger than max (${size} vs. ${limit})`,
      Status.RESOURCE_EXHAUSTED,
      'message-too-large',
    );
  }
}

export class StoppedError extends etcdError('stopped') {}
export class RequestTimeoutError extends etcdError('server-timeout') {}
export class MemberNotFoundError extends etcdError('member-not-found') {}
export class MemberExistsError extends etcdError('member-exists') {}
export class PeerUrlExistsError extends etcdError('peer-url-exists') {}
export class MemberNotLearnerError extends etcdError('member-not-learner') {}
export class LearnerNotReadyError extends etcdError('learner-not-ready') {}
export class NotSupportedForLearnerError extends etcdError('not-supported-for-learner') {}
export class NotLeaderError extends etcdError('not-leader') {}
export class BadLeaderTransfereeError extends etcdError('bad-leader-transferee') {}
export class LeaderTransferTimeoutError extends etcdError('leader-transfer-timeout') {}
export class NoLeaderError extends etcdError('no-leader') {}
export class LeaderChangedError extends etcdError('leader-changed') {}

/** A call only the leader answers reached a member that is not (etcd's ErrNotPrimary). */
export class NotPrimaryError extends etcdError('not-primary') {}
export class CanceledError extends etcdError('canceled') {}

export class UnimplementedError extends ServerRequestError {
  constructor(what: string) {
    super(`concord: ${what} is not implemented yet`, Status.UNIMPLEMENTED, 'unimplemented');
  }
}

/**
 * The base of a member's own faults that no client causes (a data dir it cannot recover, bytes
 * it cannot read): a stable `code`, and a message that says where the fault lies, then what.
 */
export function memberFault<C extends string>(code: C, where: string) {
  return class extends Error {
    readonly code: C = code;
    constructor(what: string) {
      super(`concord: ${where}: ${what}`);
      this.name = new.target.name;
    }
  };
}

/** A member flag or option that this build refuses (e.g. more than one member in the single-node slice). */
export class ConfigError extends Error {
  readonly code = 'config';
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
  if (err instanceof StatusError) return new ServerError(err.grpcCode, err.message);
  if (err instanceof Error && err.name === 'AbortError')
    return new ServerError(ETCD_ERRORS.canceled.grpcCode, ETCD_ERRORS.canceled.message);
  log(
    `unexpected error in a request handler: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
  return new ServerError(Status.UNKNOWN, err instanceof Error ? err.message : String(err));
}
