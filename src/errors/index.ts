/**
 * etcd's errors as one table (code, gRPC status, exact message), shared by the state machine,
 * the server and the SDK, and the root of the errors a member answers with. Imports nothing:
 * the SDK bundles it.
 */
export { ETCD_ERRORS, type EtcdErrorCode, type EtcdErrorSpec } from './etcd-errors.js';
export { GrpcStatusCode } from './grpc-status.js';
export { etcdErrorOf, StatusError } from './status-error.js';
