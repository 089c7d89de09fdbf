/**
 * How grpc-gateway v1 writes etcd's answers, so that a JSON client reads Concord's as it reads
 * etcd's: the .proto field names (etcd's gateway marshals with OrigName), the HTTP status it maps
 * each gRPC code to, the error object that ends a stream, and Go's plain-text errors.
 */
import http from 'node:http';
import { Status } from 'nice-grpc-common';

/** Proto field names that are not snake_case; every other JSON name maps back by camel → snake. */
const ORIG_CAMEL = new Set([
  'ID',
  'TTL',
  'authRevision',
  'clientURLs',
  'dbSize',
  'dbSizeInUse',
  'dbSizeQuota',
  'downgradeInfo',
  'grantedTTL',
  'hashedPassword',
  'isLearner',
  'keyPermission',
  'memberID',
  'peerURLs',
  'permType',
  'raftAppliedIndex',
  'raftIndex',
  'raftTerm',
  'storageVersion',
  'targetID',
  'targetVersion',
]);

/** JSON names back to proto names. ResponseHeader's fields are all snake_case (its raft_term is not StatusResponse's raftTerm). */
export function origNames(v: unknown, inHeader = false): unknown {
  if (Array.isArray(v)) return v.map((x) => origNames(x));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const name = !inHeader && ORIG_CAMEL.has(k) ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    out[name] = origNames(x, k === 'header');
  }
  return out;
}

/** grpc-gateway's HTTP status for each gRPC code (runtime.HTTPStatusFromCode); any other is 500. */
const HTTP_STATUS: Partial<Record<Status, number>> = {
  [Status.OK]: 200,
  [Status.CANCELLED]: 499,
  [Status.INVALID_ARGUMENT]: 400,
  [Status.OUT_OF_RANGE]: 400,
  [Status.FAILED_PRECONDITION]: 412,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.ABORTED]: 409,
  [Status.PERMISSION_DENIED]: 403,
  [Status.UNAUTHENTICATED]: 401,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.UNIMPLEMENTED]: 501,
  [Status.UNAVAILABLE]: 503,
};

/** grpc-gateway's HTTP status for a gRPC code. */
export function httpStatus(code: Status): number {
  return HTTP_STATUS[code] ?? 500;
}

/** A plain-text answer, as Go's http.Error (text ending in a newline) or Go's server writes. */
export function plainError(res: http.ServerResponse, status: number, text: string, close = false): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

/** grpc-gateway v1's error object, ending a stream that has already answered. */
export function streamError(code: Status, message: string) {
  const httpCode = httpStatus(code);
  return { error: { grpc_code: code, http_code: httpCode, message, http_status: httpStatusText(httpCode) } };
}

function httpStatusText(code: number): string {
  return http.STATUS_CODES[code] ?? 'Unknown';
}
