/**
 * Errors the state machine raises, each carrying etcd's exact message and gRPC status code
 * (api/v3rpc/rpctypes), so the server can turn one into a gRPC status without a lookup table
 * and clients that match on etcd's strings keep working.
 */
import { Status } from 'nice-grpc-common';

export class MvccError extends Error {
  /** gRPC status code the server answers with. */
  readonly grpcCode: Status;
  constructor(message: string, grpcCode: Status) {
    super(message);
    this.name = new.target.name;
    this.grpcCode = grpcCode;
  }
}

export class CompactedError extends MvccError {
  constructor() {
    super('etcdserver: mvcc: required revision has been compacted', Status.OUT_OF_RANGE);
  }
}
export class FutureRevisionError extends MvccError {
  constructor() {
    super('etcdserver: mvcc: required revision is a future revision', Status.OUT_OF_RANGE);
  }
}
export class LeaseNotFoundError extends MvccError {
  constructor() {
    super('etcdserver: requested lease not found', Status.NOT_FOUND);
  }
}
export class LeaseExistsError extends MvccError {
  constructor() {
    super('etcdserver: lease already exists', Status.FAILED_PRECONDITION);
  }
}
export class LeaseTTLTooLargeError extends MvccError {
  constructor() {
    super('etcdserver: too large lease TTL', Status.OUT_OF_RANGE);
  }
}
export class DuplicateKeyError extends MvccError {
  constructor() {
    super('etcdserver: duplicate key given in txn request', Status.INVALID_ARGUMENT);
  }
}
export class TooManyOpsError extends MvccError {
  constructor() {
    super('etcdserver: too many operations in txn request', Status.INVALID_ARGUMENT);
  }
}
export class EmptyKeyError extends MvccError {
  constructor() {
    super('etcdserver: key is not provided', Status.INVALID_ARGUMENT);
  }
}
export class KeyNotFoundError extends MvccError {
  constructor() {
    super('etcdserver: key not found', Status.INVALID_ARGUMENT);
  }
}
export class ValueProvidedError extends MvccError {
  constructor() {
    super('etcdserver: value is provided', Status.INVALID_ARGUMENT);
  }
}
export class LeaseProvidedError extends MvccError {
  constructor() {
    super('etcdserver: lease is provided', Status.INVALID_ARGUMENT);
  }
}
export class NoSpaceError extends MvccError {
  constructor() {
    super('etcdserver: mvcc: database space exceeded', Status.RESOURCE_EXHAUSTED);
  }
}
/** A snapshot stream that does not parse (truncated, wrong magic, bad checksum). */
export class SnapshotFormatError extends MvccError {
  constructor(what: string) {
    super(`concord: mvcc: bad snapshot: ${what}`, Status.DATA_LOSS);
  }
}

// Auth (etcd's auth store errors, as the gRPC layer words them: api/v3rpc/rpctypes).
export class RootUserNotExistError extends MvccError {
  constructor() {
    super('etcdserver: root user does not exist', Status.FAILED_PRECONDITION);
  }
}
export class RootRoleNotExistError extends MvccError {
  constructor() {
    super('etcdserver: root user does not have root role', Status.FAILED_PRECONDITION);
  }
}
export class UserAlreadyExistError extends MvccError {
  constructor() {
    super('etcdserver: user name already exists', Status.FAILED_PRECONDITION);
  }
}
export class UserEmptyError extends MvccError {
  constructor() {
    super('etcdserver: user name is empty', Status.INVALID_ARGUMENT);
  }
}
export class UserNotFoundError extends MvccError {
  constructor() {
    super('etcdserver: user name not found', Status.FAILED_PRECONDITION);
  }
}
export class RoleAlreadyExistError extends MvccError {
  constructor() {
    super('etcdserver: role name already exists', Status.FAILED_PRECONDITION);
  }
}
export class RoleNotFoundError extends MvccError {
  constructor() {
    super('etcdserver: role name not found', Status.FAILED_PRECONDITION);
  }
}
export class RoleEmptyError extends MvccError {
  constructor() {
    super('etcdserver: role name is empty', Status.INVALID_ARGUMENT);
  }
}
export class AuthFailedError extends MvccError {
  constructor() {
    super('etcdserver: authentication failed, invalid user ID or password', Status.INVALID_ARGUMENT);
  }
}
export class PermissionNotGivenError extends MvccError {
  constructor() {
    super('etcdserver: permission not given', Status.INVALID_ARGUMENT);
  }
}
export class PermissionDeniedError extends MvccError {
  constructor() {
    super('etcdserver: permission denied', Status.PERMISSION_DENIED);
  }
}
export class RoleNotGrantedError extends MvccError {
  constructor() {
    super('etcdserver: role is not granted to the user', Status.FAILED_PRECONDITION);
  }
}
export class PermissionNotGrantedError extends MvccError {
  constructor() {
    super('etcdserver: permission is not granted to the role', Status.FAILED_PRECONDITION);
  }
}
export class AuthNotEnabledError extends MvccError {
  constructor() {
    super('etcdserver: authentication is not enabled', Status.FAILED_PRECONDITION);
  }
}
export class InvalidAuthTokenError extends MvccError {
  constructor() {
    super('etcdserver: invalid auth token', Status.UNAUTHENTICATED);
  }
}
export class InvalidAuthMgmtError extends MvccError {
  constructor() {
    super('etcdserver: invalid auth management', Status.INVALID_ARGUMENT);
  }
}
export class AuthOldRevisionError extends MvccError {
  constructor() {
    super('etcdserver: revision of auth store is old', Status.INVALID_ARGUMENT);
  }
}
