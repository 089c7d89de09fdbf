/**
 * go-grpc-prometheus's started/handled counters, tallied in plain numbers per call path and
 * handed to prom-client only when /metrics is read. prom-client hashes and validates the label
 * object on every `inc` (two per call, with a fresh object each time); a profile of a member
 * under sequential puts put that at 2-4% of its busy time, for counters read every few seconds
 * at most.
 */
import type { Counter } from 'prom-client';

interface PathTally {
  readonly labels: { grpc_type: string; grpc_service: string; grpc_method: string };
  started: number;
  startedFlushed: number;
  /** By grpc_code: calls handled, and how many of them prom-client has been told about. */
  readonly handled: Map<string, { n: number; flushed: number }>;
}

/** go-grpc-prometheus's grpc_type label values. */
export function grpcType(requestStream: boolean, responseStream: boolean): string {
  if (requestStream && responseStream) return 'bidi_stream';
  if (requestStream) return 'client_stream';
  if (responseStream) return 'server_stream';
  return 'unary';
}

export class GrpcCallTally {
  readonly #paths = new Map<string, PathTally>();

  constructor(
    readonly started: Counter,
    readonly handled: Counter,
  ) {}

  /** The tally of one method, by its path ("/etcdserverpb.KV/Range"); made on first use. */
  of(path: string, requestStream: boolean, responseStream: boolean): PathTally {
    let t = this.#paths.get(path);
    if (t === undefined) {
      const [service = '', method = ''] = path.slice(1).split('/');
      t = {
        labels: {
          grpc_type: grpcType(requestStream, responseStream),
          grpc_service: service,
          grpc_method: method,
        },
        started: 0,
        startedFlushed: 0,
        handled: new Map(),
      };
      this.#paths.set(path, t);
    }
    return t;
  }

  static handle(t: PathTally, code: string): void {
    const h = t.handled.get(code);
    if (h === undefined) t.handled.set(code, { n: 1, flushed: 0 });
    else h.n++;
  }

  /** Adds what was counted since the last flush to the prom-client counters. */
  flush(): void {
    for (const t of this.#paths.values()) {
      if (t.started > t.startedFlushed) {
        this.started.inc(t.labels, t.started - t.startedFlushed);
        t.startedFlushed = t.started;
      }
      for (const [code, h] of t.handled) {
        if (h.n > h.flushed) {
          this.handled.inc({ ...t.labels, grpc_code: code }, h.n - h.flushed);
          h.flushed = h.n;
        }
      }
    }
  }
}
