/**
 * etcd's errors, written out once: the state machine and the server answer with them, the SDK
 * recognises them, as etcd's own server and clientv3 share api/v3rpc/rpctypes. Clients match on
 * the message (several errors share a gRPC status), so each message is etcd's, byte for byte.
 *
 * Each entry is keyed by its stable code: a kebab-case name that never changes once released,
 * the `code` of every error class that stands for it (server side and SDK alike). New codes are
 * named for what went wrong, not for a class. docs/errors.md lists them all.
 *
 * Entries come from etcd 3.4's rpctypes unless marked: a few are etcd 3.5's (etcd 3.4 words
 * them inside another error) or are other etcd packages' words that reach clients unchanged.
 */
import { GrpcStatusCode as S } from './grpc-status.js';

export interface EtcdErrorSpec {
  /** The gRPC status code the server answers with. */
  readonly grpcCode: S;
  /** etcd's exact message: the gRPC status's details. */
  readonly message: string;
}

export const ETCD_ERRORS = {
  // Keys, values, txns and revisions.
  'empty-key': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: key is not provided' },
  'key-not-found': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: key not found' },
  'value-provided': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: value is provided' },
  'lease-provided': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: lease is provided' },
  'too-many-ops': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: too many operations in txn request' },
  'duplicate-key': {
    grpcCode: S.INVALID_ARGUMENT,
    message: 'etcdserver: duplicate key given in txn request',
  },
  compacted: { grpcCode: S.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision has been compacted' },
  'future-revision': {
    grpcCode: S.OUT_OF_RANGE,
    message: 'etcdserver: mvcc: required revision is a future revision',
  },
  'no-space': { grpcCode: S.RESOURCE_EXHAUSTED, message: 'etcdserver: mvcc: database space exceeded' },

  // Leases. 'not-primary' is the lessor's own error (lease.ErrNotPrimary).
  'lease-not-found': { grpcCode: S.NOT_FOUND, message: 'etcdserver: requested lease not found' },
  'lease-exists': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: lease already exists' },
  'lease-ttl-too-large': { grpcCode: S.OUT_OF_RANGE, message: 'etcdserver: too large lease TTL' },
  'not-primary': { grpcCode: S.FAILED_PRECONDITION, message: 'not a primary lessor' },

  // Members.
  'member-exists': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: member ID already exist' },
  'peer-url-exists': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: Peer URLs already exists' },
  'not-enough-started': {
    grpcCode: S.FAILED_PRECONDITION,
    message: 'etcdserver: re-configuration failed due to not enough started members',
  },
  'member-bad-urls': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: given member URLs are invalid' },
  'member-not-found': { grpcCode: S.NOT_FOUND, message: 'etcdserver: member not found' },
  'member-not-learner': {
    grpcCode: S.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member',
  },
  'learner-not-ready': {
    grpcCode: S.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  'too-many-learners': {
    grpcCode: S.FAILED_PRECONDITION,
    message: 'etcdserver: too many learner members in cluster',
  },

  // Requests.
  'request-too-large': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: request is too large' },
  'too-many-requests': { grpcCode: S.RESOURCE_EXHAUSTED, message: 'etcdserver: too many requests' },

  // Authentication and authorisation. 'permission-not-given' and 'auth-old-revision' are etcd 3.5's.
  'root-user-missing': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: root user does not exist' },
  'root-role-missing': {
    grpcCode: S.FAILED_PRECONDITION,
    message: 'etcdserver: root user does not have root role',
  },
  'user-exists': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: user name already exists' },
  'user-empty': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: user name is empty' },
  'user-not-found': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: user name not found' },
  'role-exists': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: role name already exists' },
  'role-not-found': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: role name not found' },
  'role-empty': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: role name is empty' },
  'auth-failed': {
    grpcCode: S.INVALID_ARGUMENT,
    message: 'etcdserver: authentication failed, invalid user ID or password',
  },
  'permission-not-given': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: permission not given' },
  'permission-denied': { grpcCode: S.PERMISSION_DENIED, message: 'etcdserver: permission denied' },
  'role-not-granted': {
    grpcCode: S.FAILED_PRECONDITION,
    message: 'etcdserver: role is not granted to the user',
  },
  'permission-not-granted': {
    grpcCode: S.FAILED_PRECONDITION,
    message: 'etcdserver: permission is not granted to the role',
  },
  'auth-not-enabled': {
    grpcCode: S.FAILED_PRECONDITION,
    message: 'etcdserver: authentication is not enabled',
  },
  'invalid-auth-token': { grpcCode: S.UNAUTHENTICATED, message: 'etcdserver: invalid auth token' },
  'invalid-auth-mgmt': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: invalid auth management' },
  'auth-old-revision': { grpcCode: S.INVALID_ARGUMENT, message: 'etcdserver: revision of auth store is old' },

  // Leadership and the server's health. 'leader-transfer-timeout' and 'watch-canceled' are etcd
  // 3.5's; 'canceled' is Go's context.Canceled, as etcd's server answers a canceled call.
  'no-leader': { grpcCode: S.UNAVAILABLE, message: 'etcdserver: no leader' },
  'not-leader': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: not leader' },
  'leader-changed': { grpcCode: S.UNAVAILABLE, message: 'etcdserver: leader changed' },
  'not-capable': { grpcCode: S.UNAVAILABLE, message: 'etcdserver: not capable' },
  stopped: { grpcCode: S.UNAVAILABLE, message: 'etcdserver: server stopped' },
  'server-timeout': { grpcCode: S.UNAVAILABLE, message: 'etcdserver: request timed out' },
  'server-timeout-leader-failure': {
    grpcCode: S.UNAVAILABLE,
    message: 'etcdserver: request timed out, possibly due to previous leader failure',
  },
  'server-timeout-connection-lost': {
    grpcCode: S.UNAVAILABLE,
    message: 'etcdserver: request timed out, possibly due to connection lost',
  },
  'leader-transfer-timeout': {
    grpcCode: S.UNAVAILABLE,
    message: 'etcdserver: request timed out, leader transfer took too long',
  },
  unhealthy: { grpcCode: S.UNAVAILABLE, message: 'etcdserver: unhealthy cluster' },
  corrupt: { grpcCode: S.DATA_LOSS, message: 'etcdserver: corrupt cluster' },
  'not-supported-for-learner': {
    grpcCode: S.UNAVAILABLE,
    message: 'etcdserver: rpc not supported for learner',
  },
  'bad-leader-transferee': { grpcCode: S.FAILED_PRECONDITION, message: 'etcdserver: bad leader transferee' },
  'watch-canceled': { grpcCode: S.CANCELLED, message: 'etcdserver: watch canceled' },
  canceled: { grpcCode: S.CANCELLED, message: 'context canceled' },
} as const satisfies Record<string, EtcdErrorSpec>;

/** The stable code of one of etcd's errors. */
export type EtcdErrorCode = keyof typeof ETCD_ERRORS;
