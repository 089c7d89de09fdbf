/**
 * What a member is configured with, and etcd's defaults for it: the one shape every part of the
 * server reads its settings from, whether they came from flags, the YAML file or an embedder.
 */
import type { CompactionMode } from '../compactor.js';
import type { TlsFiles } from '../tls.js';

/** etcd's SnapshotCatchUpEntries default. */
export const DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES = 5000;

/** etcd's --snapshot-count default (3.5: 100,000 applied entries between snapshots). */
export const DEFAULT_SNAPSHOT_COUNT = 100_000;
/** etcd's --max-request-bytes default: 1.5 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
export const DEFAULT_NAME = 'default';
export const DEFAULT_DATA_DIR = './concord.data';
export const DEFAULT_CLIENT_URL = 'http://127.0.0.1:2379';
export const DEFAULT_PEER_URL = 'http://localhost:2380';
export const DEFAULT_CLUSTER_TOKEN = 'etcd-cluster';
/** etcd's --quota-backend-bytes default (2 GiB). */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 100;
export const DEFAULT_ELECTION_MS = 1000;
/** Added to --max-request-bytes for the gRPC receive limit (etcd's grpcOverheadBytes). */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** Snapshots a member keeps in the shared store by default (etcd's --max-snapshots is 5). */
export const DEFAULT_SNAPSHOT_STORE_RETENTION = 5;
/** etcd's --bcrypt-cost default (bcrypt.DefaultCost) and bounds (bcrypt.MinCost, MaxCost). */
export const DEFAULT_BCRYPT_COST = 10;
export const MIN_BCRYPT_COST = 4;
export const MAX_BCRYPT_COST = 31;
/** etcd's --auth-token-ttl default: 300 seconds. */
export const DEFAULT_AUTH_TOKEN_TTL_SEC = 300;
/** etcd's --experimental-warning-apply-duration default: 100 ms. */
export const DEFAULT_WARNING_APPLY_DURATION_MS = 100;

export interface ServeConfig {
  name: string;
  dataDir: string;
  listenClientUrls: string[];
  advertiseClientUrls: string[];
  listenPeerUrls: string[];
  initialAdvertisePeerUrls: string[];
  /** name=peerURL pairs. */
  initialCluster: { name: string; peerUrl: string }[];
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  /** Extra HTTP listeners for /health, /version (etcd's --listen-metrics-urls). */
  listenMetricsUrls: string[];
  snapshotCount: number;
  /**
   * Log entries kept in memory behind each snapshot, so a follower that is only a little behind
   * catches up from the log instead of receiving a whole snapshot (etcd's
   * --experimental-snapshot-catchup-entries, 5000).
   */
  snapshotCatchUpEntries: number;
  quotaBackendBytes: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  /** Progress notifications to watchers that asked (etcd's --experimental-watch-progress-notify-interval, default 10m). */
  watchProgressNotifyIntervalMs: number;
  /** etcd's --auto-compaction-mode/--auto-compaction-retention; undefined when off (retention 0). */
  autoCompaction: { mode: CompactionMode; retention: number } | undefined;
  /** etcd's --grpc-keepalive-min-time (5s): clients may ping this often. */
  grpcKeepaliveMinTimeMs: number;
  /** etcd's --grpc-keepalive-interval (2h): the server pings an idle client this often. */
  grpcKeepaliveIntervalMs: number;
  /** etcd's --grpc-keepalive-timeout (20s): how long a ping may go unanswered. */
  grpcKeepaliveTimeoutMs: number;
  /**
   * A shared snapshot store (a postgres:// URL or a directory): the leader uploads each new
   * snapshot there, and a member joining with an empty data dir starts from the newest one.
   */
  snapshotStore: string | undefined;
  /** Snapshots kept in the shared store per uploading member (newest first). */
  snapshotStoreRetention: number;
  /**
   * How often the leader records each lease's remaining TTL through Raft (0: never), so that a
   * new leader restarts a lease from what was left of it, not from its full TTL: without it a
   * lease nobody keeps alive lives forever in a cluster whose leader keeps changing. etcd's
   * --experimental-enable-lease-checkpoint (off by default there, on here) with a 5 min interval.
   */
  leaseCheckpointIntervalMs: number;
  /** TLS on https:// client URLs (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth). */
  clientTls?: TlsFiles;
  /** TLS on https:// peer URLs, both ways (the --peer-* twins of the client flags). */
  peerTls?: TlsFiles;
  /** etcd's --auth-token: 'simple' (default); options after commas as etcd parses them. */
  authToken: { type: 'simple' | 'jwt'; options: Record<string, string> };
  /** etcd's --auth-token-ttl, in seconds: a simple token unused this long expires. */
  authTokenTtlSec: number;
  /** etcd's --bcrypt-cost (4 to 31, default 10). */
  bcryptCost: number;
  /**
   * etcd's --cors: origins a browser page may call the HTTP gateway from (`*`, or undefined:
   * any, as etcd's default). Each is an origin as browsers send it: scheme://host[:port].
   */
  cors?: string[];
  /** etcd's --experimental-warning-apply-duration: applies slower than this are warned about. */
  warningApplyDurationMs?: number;
}

/** The TLS flags of one port (etcd's names, camel-cased; --peer-* for the peer port). */
type TlsFlag = 'certFile' | 'keyFile' | 'trustedCaFile' | 'clientCertAuth';
type PeerTlsFlag = `peer${Capitalize<TlsFlag>}`;

/** Flags as given (strings), before validation. */
export type ServeFlags = Partial<
  Record<
    | keyof ServeConfig
    | 'initialCluster'
    | 'autoCompactionMode'
    | 'autoCompactionRetention'
    | 'enableLeaseCheckpoint'
    | 'leaseCheckpointInterval'
    | 'cors'
    | 'warningApplyDurationMs'
    | TlsFlag
    | PeerTlsFlag,
    string
  >
>;

/** etcd's leaseCheckpointInterval. */
export const DEFAULT_LEASE_CHECKPOINT_INTERVAL_MS = 5 * 60_000;

/** etcd's --experimental-watch-progress-notify-interval default: 10 minutes. */
export const DEFAULT_WATCH_PROGRESS_NOTIFY_MS = 10 * 60_000;
