/**
 * etcd's JSON gateway (grpc-gateway): `POST /v3/kv/range` with the request as JSON, answered with
 * the response as JSON — 64-bit integers as strings, bytes in base64, field names as in the
 * .proto (etcd's gateway marshals with OrigName), zero values left out. /v3beta/ is etcd 3.4's
 * older name of the same paths (3.4 answers /v3alpha/ with 404). Errors come back as
 * `{"error", "code", "message"}` with the HTTP status grpc-gateway maps the gRPC code to.
 *
 * A body is read as etcd's gateway reads it (see jsonpb.ts): one JSON value for a unary
 * call, whatever follows it unread; each field checked against its protobuf type, and a bad
 * value refused with etcd's 400 and message before anything is called. An unknown path under
 * /v3/ is a plain-text 404, another method than POST on a known one a plain-text 405.
 *
 * The streaming calls (/v3/watch, /v3/lease/keepalive, /v3/election/observe) take one or more
 * concatenated JSON requests as the body and answer with newline-delimited `{"result": …}`
 * objects, as grpc-gateway v1 streams; an error after the first answer ends the stream with
 * `{"error": {"grpc_code", "http_code", "message", "http_status"}}`. A watch keeps streaming
 * after the body ends, until the client goes; a keepalive ends once each request is answered.
 */
import type http from 'node:http';
import { TLSSocket } from 'node:tls';
import { Status } from 'nice-grpc-common';
import { TooManyOpsError } from '../../../mvcc/errors.js';
import { commonName } from '../../auth/cert-users.js';
import { GRPC_OVERHEAD_BYTES } from '../../bootstrap/config.js';
import type { Node } from '../../bootstrap/node.js';
import { MessageTooLargeError, toServerError } from '../../errors.js';
import { httpStatus, origNames, plainError, streamError } from './answers.js';
import { GatewayJsonError } from './gateway-json-error.js';
import { JsonBody } from './go-json.js';
import { gatewayRequest } from './jsonpb.js';
import { type GatewayCtx, gatewayRoutes, type Route, type StreamRoute } from './routes.js';

/**
 * Largest JSON body read: the gRPC limit with room for base64 (4/3) and field names. A body
 * under it is parsed, then held to the gRPC limit by its protobuf size, as etcd's gateway (a
 * gRPC client of its own server) is.
 */
const MAX_BODY_FACTOR = 2;

/**
 * The gateway's path of a request as etcd 3.4 matches it: percent-decoded, /v3beta/ read as
 * /v3/, a `:verb` ending split off (an empty verb matches, as none of the paths has one).
 * Undefined for a path outside /v3/ and /v3beta/ (not the gateway's), null for a path under
 * them that names no call, 'bad-request' for a bad percent escape (refused by Go's server).
 */
function gatewayPath(url: string | undefined): string | null | 'bad-request' | undefined {
  const raw = (url ?? '').split('?')[0]!;
  const under = (p: string) => p.startsWith('/v3/') || p.startsWith('/v3beta/');
  const decoded = percentDecode(raw);
  if (decoded === undefined) return under(raw) ? 'bad-request' : undefined;
  if (!under(decoded)) return undefined;
  const parts = decoded.replace(/^\/v3beta\//, '/v3/').split('/');
  const last = parts[parts.length - 1]!;
  const colon = last.lastIndexOf(':');
  if (colon === 0 || (colon > 0 && colon < last.length - 1)) return null;
  if (colon > 0) parts[parts.length - 1] = last.slice(0, colon);
  return parts.join('/');
}

/** Go's url.PathUnescape, byte by byte (a latin1 string); undefined for a bad escape. */
function percentDecode(s: string): string | undefined {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '%') {
      bytes.push(s.charCodeAt(i) & 0xff);
      continue;
    }
    const hex = s.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('latin1');
}

export function jsonGateway(node: Node): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const routes = gatewayRoutes(node);
  const limit = node.config.maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const maxBody = MAX_BODY_FACTOR * limit;

  return (req, res) => {
    const path = gatewayPath(req.url);
    if (path === undefined) return false;
    // Neither stream may throw out of an event handler: an error event with no listener does.
    req.on('error', () => {});
    res.on('error', () => {});
    if (path === 'bad-request') {
      plainError(res, 400, '400 Bad Request', true);
      return true;
    }
    const r = path === null ? undefined : routes.get(path);
    if (!r) {
      plainError(res, 404, 'Not Found\n');
      return true;
    }
    if (req.method !== 'POST') {
      plainError(res, 405, 'Method Not Allowed\n');
      return true;
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (err: unknown) => {
      const e = toServerError(err);
      send(httpStatus(e.code), { error: e.details, code: e.code, message: e.details });
    };
    /** The last resort for a bug: answered as gRPC's Internal, never thrown out of a handler. */
    const internal = (err: unknown) => {
      node.log.error(
        `unexpected error in the JSON gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      send(500, { error: message, code: Status.INTERNAL, message });
    };
    const guard =
      <A extends unknown[]>(f: (...args: A) => void) =>
      (...args: A) => {
        try {
          f(...args);
        } catch (err) {
          internal(err);
        }
      };
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on(
      'data',
      guard((c: Buffer) => {
        if (size > maxBody) return;
        size += c.length;
        if (size > maxBody) {
          fail(new MessageTooLargeError(size, limit));
          // Stop reading, but let the answer go out before the connection closes.
          req.pause();
          res.on('finish', () => req.destroy());
          return;
        }
        chunks.push(c);
      }),
    );
    req.on(
      'end',
      guard(() => {
        if (size > maxBody) return;
        let reqs: unknown[];
        try {
          reqs = readRequests(r, new JsonBody(Buffer.concat(chunks)));
        } catch (err) {
          if (!(err instanceof GatewayJsonError)) throw err;
          // etcd's gateway marshals a null element of a repeated message into a panic, which
          // Go's server answers by closing the connection.
          if (err.kind === 'unhandled') res.destroy();
          else if (err.kind === 'too-deep') fail(new TooManyOpsError());
          // A bidirectional stream's first request is decoded after the call is opened, and
          // its error comes back as the call's (gRPC Unknown), not as an InvalidArgument.
          else if (r.requestStream)
            send(500, { error: err.message, code: Status.UNKNOWN, message: err.message });
          else send(400, { error: err.message, code: Status.INVALID_ARGUMENT, message: err.message });
          return;
        }
        for (const q of reqs) {
          const n = r.request.encode(q).finish().length;
          if (n > limit) return fail(new MessageTooLargeError(n, limit));
        }
        // etcd's gateway is a gRPC client of its own server: its calls count as gRPC calls.
        const ended = node.metrics.gatewayCall(r.grpcPath, r.requestStream, r.responseStream);
        const authorization = req.headers.authorization;
        const socket = req.socket;
        const ctx = {
          signal: abort.signal,
          certUser:
            node.config.clientTls?.clientCertAuth && socket instanceof TLSSocket && socket.authorized
              ? commonName(socket)
              : undefined,
          token: typeof authorization === 'string' ? authorization : undefined,
          requireLeader: req.headers['grpc-metadata-hasleader'] === 'true',
        };
        if ('stream' in r) return streamOut(r, reqs, res, ctx, abort, ended, internal);
        r.call(reqs[0], ctx)
          .then(
            (out) => {
              ended();
              send(200, origNames(r.response.toJSON(out)));
            },
            (err) => {
              ended(toServerError(err));
              fail(err);
            },
          )
          .catch(internal);
      }),
    );
    return true;
  };
}

/**
 * The requests of a body, as etcd's gateway reads them: a unary or server-streaming call reads
 * one JSON value (none is an empty request) and never looks past it; a bidirectional stream
 * reads value after value, and a bad one after the first ends its requests there, as the
 * gateway half-closes the call when it cannot decode the next one. Throws a GatewayJsonError
 * for the first request.
 */
function readRequests(r: Route, body: JsonBody): unknown[] {
  const read = () => {
    const value = body.next();
    return value && r.request.fromPartial(gatewayRequest(body, value, r.input));
  };
  if (!r.requestStream) return [read() ?? r.request.fromPartial({})];
  const reqs: unknown[] = [];
  for (;;) {
    let q: unknown;
    try {
      q = read();
    } catch (err) {
      if (reqs.length === 0 || !(err instanceof GatewayJsonError)) throw err;
      return reqs;
    }
    if (q === undefined) return reqs;
    reqs.push(q);
  }
}

/** Writes a stream's answers as they come, one JSON object a line. */
function streamOut(
  r: StreamRoute,
  reqs: unknown[],
  res: http.ServerResponse,
  ctx: GatewayCtx,
  abort: AbortController,
  ended: (err?: unknown, canceled?: boolean) => void,
  internal: (err: unknown) => void,
): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
  // Sent at once: a client waiting on the response headers learns that the stream is open.
  res.flushHeaders();
  (async () => {
    try {
      for await (const m of r.stream(reqs, ctx)) {
        if (abort.signal.aborted) break;
        res.write(`${JSON.stringify({ result: origNames(r.response.toJSON(m)) })}\n`);
      }
      ended(undefined, abort.signal.aborted);
    } catch (err) {
      if (abort.signal.aborted) ended(undefined, true);
      else {
        const e = toServerError(err);
        ended(e);
        res.write(`${JSON.stringify(streamError(e.code, e.details))}\n`);
      }
    }
    res.end();
  })().catch(internal);
}
