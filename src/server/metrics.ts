/**
 * A member's Prometheus metrics, named as etcd's (and as go-grpc-prometheus's for the gRPC
 * counters) so dashboards and alerts written for etcd work unchanged. Each member has its own
 * Registry, not prom-client's global one: several members in one process (tests, `concord dev`)
 * must not share counters.
 *
 * Counters are bumped where things happen (the proposer, the watch service, the gRPC
 * middleware); values that are state (leader, db size, open watchers) are read at scrape time.
 */
import { ServerError, Status } from 'nice-grpc-common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { GrpcCallTally, grpcType } from './grpc-call-tally.js';

/** The fsync histogram's buckets: etcd's ExponentialBuckets(0.001, 2, 14), 1 ms to ~8 s. */
export const WAL_FSYNC_BUCKETS = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);

/** What is read from the member at scrape time. */
export interface MetricsSource {
  hasLeader(): boolean;
  isLeader(): boolean;
  dbSizeBytes(): number;
  watchers(): number;
}

/** grpc-go's codes.Code.String(), which go-grpc-prometheus uses as the grpc_code label. */
const CODE_NAMES: Record<number, string> = {
  [Status.OK]: 'OK',
  [Status.CANCELLED]: 'Canceled',
  [Status.UNKNOWN]: 'Unknown',
  [Status.INVALID_ARGUMENT]: 'InvalidArgument',
  [Status.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [Status.NOT_FOUND]: 'NotFound',
  [Status.ALREADY_EXISTS]: 'AlreadyExists',
  [Status.PERMISSION_DENIED]: 'PermissionDenied',
  [Status.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [Status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [Status.ABORTED]: 'Aborted',
  [Status.OUT_OF_RANGE]: 'OutOfRange',
  [Status.UNIMPLEMENTED]: 'Unimplemented',
  [Status.INTERNAL]: 'Internal',
  [Status.UNAVAILABLE]: 'Unavailable',
  [Status.DATA_LOSS]: 'DataLoss',
  [Status.UNAUTHENTICATED]: 'Unauthenticated',
};

function codeOf(err: unknown): string {
  if (err instanceof ServerError) return CODE_NAMES[err.code] ?? 'Unknown';
  if (err instanceof Error && err.name === 'AbortError') return 'Canceled';
  return 'Unknown';
}

/** A gRPC service as its counters need it: full name and methods' shapes. */
export interface GrpcServiceShape {
  fullName: string;
  methods: Record<string, { name: string; requestStream: boolean; responseStream: boolean }>;
}

/** One method's started and handled counts. */
type CallTally = ReturnType<GrpcCallTally['of']>;

function grpcLabels(service: string, method: string, requestStream: boolean, responseStream: boolean) {
  return { grpc_type: grpcType(requestStream, responseStream), grpc_service: service, grpc_method: method };
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly leaderChanges: Counter;
  /** Gauges in etcd despite the _total suffix: the committed / applied raft index. */
  readonly proposalsCommitted: Gauge;
  readonly proposalsApplied: Gauge;
  readonly proposalsPending: Gauge;
  readonly proposalsFailed: Counter;
  /** Committed entries that could not be applied (each failed its own request only). */
  readonly applyFailures: Counter;
  /** 1 once the raft loop has stopped on an error (the member refuses requests until restarted). */
  readonly raftLoopFailed: Gauge;
  readonly walFsync: Histogram;
  readonly watchStreams: Gauge;
  /** Full snapshots streamed to a peer / received from one (etcd's names, labelled To / From). */
  readonly snapshotsSent: Counter;
  readonly snapshotsReceived: Counter;
  /** The shared snapshot store (--snapshot-store): uploads, failed attempts, and the index a joining member started from. */
  readonly storeUploads: Counter;
  readonly storeUploadFailures: Counter;
  readonly storeBootstrapIndex: Gauge;
  readonly #grpcStarted: Counter;
  readonly #grpcHandled: Counter;
  readonly #calls: GrpcCallTally;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    const counter = (name: string, help: string, labelNames?: string[]) =>
      new Counter({ name, help, registers, ...(labelNames && { labelNames }) });
    /** A gauge set where things happen, or read from the member at scrape time. */
    const gauge = (name: string, help: string, read?: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        ...(read && {
          collect() {
            this.set(read());
          },
        }),
      });
    const grpcLabelNames = ['grpc_type', 'grpc_service', 'grpc_method'];
    gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () =>
      source.hasLeader() ? 1 : 0,
    );
    gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () =>
      source.isLeader() ? 1 : 0,
    );
    this.leaderChanges = counter(
      'etcd_server_leader_changes_seen_total',
      'The number of leader changes seen.',
    );
    this.proposalsCommitted = gauge(
      'etcd_server_proposals_committed_total',
      'The total number of consensus proposals committed.',
    );
    this.proposalsApplied = gauge(
      'etcd_server_proposals_applied_total',
      'The total number of consensus proposals applied.',
    );
    this.proposalsPending = gauge(
      'etcd_server_proposals_pending',
      'The current number of pending proposals to commit.',
    );
    this.proposalsFailed = counter(
      'etcd_server_proposals_failed_total',
      'The total number of failed proposals seen.',
    );
    this.applyFailures = counter(
      'concord_server_apply_failures_total',
      'Committed entries that could not be applied; each failed its own request only.',
    );
    this.raftLoopFailed = gauge(
      'concord_server_raft_loop_failed',
      '1 once the raft loop has stopped on an error: the member refuses requests until restarted.',
    );
    this.walFsync = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by WAL.',
      buckets: WAL_FSYNC_BUCKETS,
      registers,
    });
    gauge(
      'etcd_mvcc_db_total_size_in_bytes',
      'Total size of the underlying database physically allocated in bytes.',
      () => source.dbSizeBytes(),
    );
    gauge('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', () => source.watchers());
    this.watchStreams = gauge('etcd_debugging_mvcc_watch_stream_total', 'Total number of watch streams.');
    this.snapshotsSent = counter(
      'etcd_network_snapshot_send_success',
      'Total number of successful snapshot sends',
      ['To'],
    );
    this.snapshotsReceived = counter(
      'etcd_network_snapshot_receive_success',
      'Total number of successful snapshot receives',
      ['From'],
    );
    this.storeUploads = counter(
      'concord_snapshot_store_uploads_total',
      'Snapshots this member uploaded to the shared snapshot store.',
    );
    this.storeUploadFailures = counter(
      'concord_snapshot_store_upload_failures_total',
      'Failed attempts to upload a snapshot to the shared snapshot store (each is retried).',
    );
    this.storeBootstrapIndex = gauge(
      'concord_snapshot_store_bootstrap_index',
      'Raft index of the shared-store snapshot this member started from when it joined (0: none).',
    );
    // Tallied per call and added here when read (grpc-call-tally.ts).
    const flush = () => this.#calls.flush();
    this.#grpcStarted = new Counter({
      name: 'grpc_server_started_total',
      help: 'Total number of RPCs started on the server.',
      labelNames: grpcLabelNames,
      registers,
      collect: flush,
    });
    this.#grpcHandled = new Counter({
      name: 'grpc_server_handled_total',
      help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: [...grpcLabelNames, 'grpc_code'],
      registers,
      collect: flush,
    });
    this.#calls = new GrpcCallTally(this.#grpcStarted, this.#grpcHandled);
  }

  /**
   * Puts every method of `services` at 0 in the started and handled (every code) counters, as
   * go-grpc-prometheus's InitializeMetrics does for etcd: a scraper finds a method's counters
   * before its first call, and can compare later values with that first sample.
   */
  initializeGrpc(services: readonly GrpcServiceShape[]): void {
    for (const s of services) {
      for (const m of Object.values(s.methods)) {
        const labels = grpcLabels(s.fullName, m.name, m.requestStream, m.responseStream);
        this.#grpcStarted.inc(labels, 0);
        for (const code of Object.values(CODE_NAMES))
          this.#grpcHandled.inc({ ...labels, grpc_code: code }, 0);
      }
    }
  }

  /**
   * Counts a call that reached a service without going through gRPC (the JSON gateway's): etcd's
   * gateway is a gRPC client of its own server, so its calls show in these counters. Call the
   * returned function once when the call ends, with the etcd ServerError it failed with if any.
   */
  gatewayCall(
    grpcPath: string,
    requestStream: boolean,
    responseStream: boolean,
  ): (err?: unknown, canceled?: boolean) => void {
    const tally = this.grpcCallStarted(grpcPath, requestStream, responseStream);
    let ended = false;
    return (err, canceled = false) => {
      if (ended) return;
      ended = true;
      this.grpcCallEnded(tally, err, canceled);
    };
  }

  /** The Prometheus text exposition and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * Counts a gRPC call as started; give what this returns to `grpcCallEnded` once the call ends.
   * The call middleware (api/call-middleware.ts) counts a call outside the part that turns
   * errors into etcd's statuses, so the counters see the final code.
   */
  grpcCallStarted(path: string, requestStream: boolean, responseStream: boolean): CallTally {
    // The path is "/etcdserverpb.KV/Range".
    const tally = this.#calls.of(path, requestStream, responseStream);
    tally.started++;
    return tally;
  }

  /**
   * Counts a call handled: OK, or the code of the etcd ServerError it failed with; a call that
   * ended without an error after its client cancelled it is Canceled.
   */
  grpcCallEnded(tally: CallTally, err: unknown, canceled: boolean): void {
    let code = err === undefined ? 'OK' : codeOf(err);
    if (code === 'OK' && canceled) code = 'Canceled';
    GrpcCallTally.handle(tally, code);
  }
}
