/**
 * The root of the errors a member answers a client with: the state machine's (MvccError) and
 * the server's (ServerRequestError). Each has a stable `code`, the gRPC status and the message
 * the client sees; the server turns one into a gRPC status without a lookup.
 */
import { ETCD_ERRORS, type EtcdErrorCode } from './etcd-errors.js';
import type { GrpcStatusCode } from './grpc-status.js';

export class StatusError extends Error {
  /** A stable identifier for the kind of error: the table's code for etcd's errors. */
  readonly code: string;
  /** The gRPC status code the server answers with. */
  readonly grpcCode: GrpcStatusCode;
  constructor(message: string, grpcCode: GrpcStatusCode, code: string) {
    super(message);
    this.name = new.target.name;
    this.grpcCode = grpcCode;
    this.code = code;
  }
}

type StatusErrorClass<T extends StatusError> = new (
  message: string,
  grpcCode: GrpcStatusCode,
  code: string,
) => T;

/**
 * The base of the class for one of etcd's errors under `Base`: its message and status come from
 * the table, so each class is one line (`class NoSpaceError extends etcdErrorOf(MvccError, 'no-space') {}`).
 */
export function etcdErrorOf<T extends StatusError>(
  Base: StatusErrorClass<T>,
  code: EtcdErrorCode,
): new () => T {
  const { message, grpcCode } = ETCD_ERRORS[code];
  const Parent: StatusErrorClass<StatusError> = Base;
  return class extends Parent {
    constructor() {
      super(message, grpcCode, code);
    }
  } as unknown as new () => T;
}
