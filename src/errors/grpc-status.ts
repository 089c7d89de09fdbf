/**
 * gRPC's status codes (grpc/doc/statuscodes.md) as plain numbers, so that the table of etcd's
 * errors imports nothing. The numbers are fixed by the gRPC spec: they equal nice-grpc's
 * `Status`, which every other part uses (test/unit/errors-documented.test.ts checks).
 */
export const GrpcStatusCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatusCode)[keyof typeof GrpcStatusCode];
