/**
 * Errors the state machine raises. Each carries a stable `code` and, for etcd's errors, etcd's
 * exact message and gRPC status from the one table (src/errors), so the server turns one into a
 * gRPC status without a lookup and clients that match on etcd's strings keep working.
 */
import { Status } from 'nice-grpc-common';
import { type EtcdErrorCode, etcdErrorOf, StatusError } from '../errors/index.js';

export class MvccError extends StatusError {}

const etcdError = (code: EtcdErrorCode) => etcdErrorOf(MvccError, code);

export class CompactedError extends etcdError('compacted') {}
export class FutureRevisionError extends etcdError('future-revision') {}
export class LeaseNotFoundError extends etcdError('lease-not-found') {}
export class LeaseExistsError extends etcdError('lease-exists') {}
export class LeaseTTLTooLargeError extends etcdError('lease-ttl-too-large') {}
export class DuplicateKeyError extends etcdError('duplicate-key') {}
export class TooManyOpsError extends etcdError('too-many-ops') {}
export class EmptyKeyError extends etcdError('empty-key') {}
export class KeyNotFoundError extends etcdError('key-not-found') {}
export class ValueProvidedError extends etcdError('value-provided') {}
export class LeaseProvidedError extends etcdError('lease-provided') {}
export class NoSpaceError extends etcdError('no-space') {}
/** A snapshot stream that does not parse (truncated, wrong magic, bad checksum). */
export class SnapshotFormatError extends MvccError {
  constructor(what: string) {
    super(`concord: mvcc: bad snapshot: ${what}`, Status.DATA_LOSS, 'bad-snapshot');
  }
}

// Auth (etcd's auth store errors, as the gRPC layer words them).
export class RootUserNotExistError extends etcdError('root-user-missing') {}
export class RootRoleNotExistError extends etcdError('root-role-missing') {}
export class UserAlreadyExistError extends etcdError('user-exists') {}
export class UserEmptyError extends etcdError('user-empty') {}
export class UserNotFoundError extends etcdError('user-not-found') {}
export class RoleAlreadyExistError extends etcdError('role-exists') {}
export class RoleNotFoundError extends etcdError('role-not-found') {}
export class RoleEmptyError extends etcdError('role-empty') {}
export class AuthFailedError extends etcdError('auth-failed') {}
export class PermissionNotGivenError extends etcdError('permission-not-given') {}
export class PermissionDeniedError extends etcdError('permission-denied') {}
export class RoleNotGrantedError extends etcdError('role-not-granted') {}
export class PermissionNotGrantedError extends etcdError('permission-not-granted') {}
export class AuthNotEnabledError extends etcdError('auth-not-enabled') {}
export class InvalidAuthTokenError extends etcdError('invalid-auth-token') {}
export class InvalidAuthMgmtError extends etcdError('invalid-auth-mgmt') {}
export class AuthOldRevisionError extends etcdError('auth-old-revision') {}
