/**
 * The one middleware every client gRPC call goes through. In order:
 * 1. a request that did not decode is refused, INTERNAL `grpc: error unmarshalling request: …`
 *    (grpc-go's words), before the metrics count it: grpc-go decodes a unary request before
 *    its interceptors run;
 * 2. the call is counted as started, and as handled with its final etcd status when it ends
 *    (go-grpc-prometheus's counters, metrics.ts);
 * 3. the certificate's user is put in the metadata (any value a client sent there is dropped),
 *    a learner refuses what etcd's learners refuse, a bidi stream that asked for a leader is
 *    ended when the member loses it, a message over the limit is refused, and every error
 *    becomes etcd's status (toServerError).
 *
 * One async generator per call: nice-grpc runs each middleware given to `use` as a generator of
 * its own nested in the previous one, and copies the call object twice per layer, on every call.
 */
import {
  type CallContext,
  ServerError,
  type ServerMiddleware,
  type ServerMiddlewareCall,
  Status,
} from 'nice-grpc-common';
import { CERT_USER_KEY } from '../auth/cert-users.js';
import type { Node } from '../bootstrap/node.js';
import { NotSupportedForLearnerError, toServerError } from '../errors.js';
import { requireLeader, wantsLeader } from './require-leader.js';

/** What a request decoder returns for bytes that are not a message of its type. */
export class Undecodable {
  constructor(readonly reason: string) {}
}

/** grpc-go's status for a request that does not decode (gogoproto's words for a truncated one). */
function unmarshalError(u: Undecodable): ServerError {
  return new ServerError(Status.INTERNAL, `grpc: error unmarshalling request: ${u.reason}`);
}

/** etcd's isRPCSupportedForLearner: a learner answers Status and serializable reads, nothing else. */
function learnerMayServe(path: string, request: unknown): boolean {
  if (path === '/etcdserverpb.Maintenance/Status') return true;
  if (path === '/etcdserverpb.KV/Range') return (request as { serializable?: boolean }).serializable === true;
  return false;
}

export interface CallMiddlewareOptions {
  /** --client-cert-auth: certificates name users (without it no call parses its peer address). */
  certAuth: boolean;
  /** Throws MessageTooLargeError for a request message decoded above the limit. */
  check(message: unknown): void;
}

export function callMiddleware(node: Node, { certAuth, check }: CallMiddlewareOptions): ServerMiddleware {
  const metrics = node.metrics;
  async function* each<T>(requests: AsyncIterable<T>): AsyncIterable<T> {
    for await (const r of requests) {
      check(r);
      yield r;
    }
  }
  return async function* callMiddleware<Req, Res>(
    call: ServerMiddlewareCall<Req, Res>,
    context: CallContext,
  ) {
    if (call.request instanceof Undecodable) throw unmarshalError(call.request);
    const tally = metrics.grpcCallStarted(call.method.path, call.requestStream, call.responseStream);
    let failed: ServerError | undefined;
    try {
      context.metadata.delete(CERT_USER_KEY);
      if (certAuth) {
        const certUser = node.certUsers.userOf(context.peer);
        if (certUser !== undefined) context.metadata.set(CERT_USER_KEY, certUser);
      }
      if (
        node.proposer.isLearner &&
        !learnerMayServe(call.method.path, call.requestStream ? undefined : call.request)
      )
        throw new NotSupportedForLearnerError();
      if (call.requestStream) {
        if (call.responseStream && wantsLeader(context.metadata)) {
          // The handler gets a signal of its own, aborted when the leader monitor ends the stream.
          const ac = new AbortController();
          const onAbort = () => ac.abort();
          context.signal.addEventListener('abort', onAbort, { once: true });
          try {
            const inner = call.next(each(call.request), { ...context, signal: ac.signal });
            return yield* requireLeader(node, inner, () => ac.abort());
          } finally {
            context.signal.removeEventListener('abort', onAbort);
          }
        }
        return yield* call.next(each(call.request), context);
      }
      check(call.request);
      return yield* call.next(call.request, context);
    } catch (err) {
      failed = toServerError(err);
      throw failed;
    } finally {
      // A stream the client cancelled ends without an error reaching us.
      metrics.grpcCallEnded(tally, failed, context.signal.aborted);
    }
  };
}
