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

/** grpc-gateway's HTTP status for a gRPC code. */
export function httpStatus(code: Status): number {
  switch (code) {
    case Status.OK:
      return 200;
    case Status.CANCELLED:
      return 499;
    case Status.INVALID_ARGUMENT:
    case Status.OUT_OF_RANGE:
      return 400;
    case Status.FAILED_PRECONDITION:
      return 412;
    case Status.DEADLINE_EXCEEDED:
      return 504;
    case Status.NOT_FOUND:
      return 404;
    case Status.ALREADY_EXISTS:
    case Status.ABORTED:
      return 409;
    case Status.PERMISSION_DENIED:
      return 403;
    case Status.UNAUTHENTICATED:
      return 401;
    case Status.RESOURCE_EXHAUSTED:
      return 429;
    case Status.UNIMPLEMENTED:
      return 501;
    case Status.UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
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
