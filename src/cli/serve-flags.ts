/**
 * The etcd flags `concord serve` implements, with etcd's names and defaults, in one table: the
 * --help text, the ETCD_* variables and the YAML config file's keys are all read off it, so a flag
 * added here is taken in all three ways.
 */
import { DEFAULT_MAX_TXN_OPS } from '../mvcc/index.js';
import * as server from '../server/index.js';

/** A flag Concord implements. */
export interface FlagSpec {
  flag: string;
  /** `<value>` for a flag that takes one; `[bool]` for a boolean (bare flag = true). */
  arg: string;
  description: string;
  /** Shown in --help as "(default: …)"; the value itself is applied by resolveConfig. */
  dflt?: string;
  /** In etcd's YAML this is a Go duration: a number there is nanoseconds. */
  duration?: boolean;
  /** Shown under "etcd's logging" etc.: grouping only. */
  group: string;
}

const MEMBER = 'Member';
const CLUSTER = 'Clustering';
const SECURITY = 'Security';
const AUTH = 'Auth';
const LOGGING = 'Logging';
const CONCORD = 'Concord';

/** The flags Concord implements, with etcd's names and defaults. */
export const SERVE_FLAGS: FlagSpec[] = [
  {
    group: MEMBER,
    flag: 'config-file',
    arg: '<file>',
    description: "etcd's YAML configuration file; when given, flags and ETCD_* variables are ignored",
  },
  {
    group: MEMBER,
    flag: 'name',
    arg: '<name>',
    description: 'human-readable name for this member',
    dflt: server.DEFAULT_NAME,
  },
  {
    group: MEMBER,
    flag: 'data-dir',
    arg: '<dir>',
    description: 'path to the data directory',
    dflt: server.DEFAULT_DATA_DIR,
  },
  {
    group: MEMBER,
    flag: 'listen-client-urls',
    arg: '<urls>',
    description: 'URLs to listen on for client traffic (gRPC and HTTP)',
    dflt: server.DEFAULT_CLIENT_URL,
  },
  {
    group: MEMBER,
    flag: 'listen-peer-urls',
    arg: '<urls>',
    description: 'URLs to listen on for peer traffic',
    dflt: server.DEFAULT_PEER_URL,
  },
  {
    group: MEMBER,
    flag: 'listen-metrics-urls',
    arg: '<urls>',
    description: 'extra URLs for /health, /version and /metrics over HTTP/1',
    dflt: 'none',
  },
  {
    group: MEMBER,
    flag: 'snapshot-count',
    arg: '<n>',
    description: 'applied entries between snapshots',
    dflt: String(server.DEFAULT_SNAPSHOT_COUNT),
  },
  {
    group: MEMBER,
    flag: 'experimental-snapshot-catchup-entries',
    arg: '<n>',
    description: 'log entries kept behind a snapshot for slow followers',
    dflt: String(server.DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES),
  },
  {
    group: MEMBER,
    flag: 'snapshot-catchup-entries',
    arg: '<n>',
    description: "the same, under etcd 3.6's name",
    dflt: String(server.DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES),
  },
  {
    group: MEMBER,
    flag: 'heartbeat-interval',
    arg: '<ms>',
    description: 'heartbeat interval in ms',
    dflt: String(server.DEFAULT_HEARTBEAT_MS),
  },
  {
    group: MEMBER,
    flag: 'election-timeout',
    arg: '<ms>',
    description: 'election timeout in ms (at least 5 heartbeats)',
    dflt: String(server.DEFAULT_ELECTION_MS),
  },
  {
    group: MEMBER,
    flag: 'quota-backend-bytes',
    arg: '<n>',
    description: 'NOSPACE alarm above this many bytes of keyspace (0: the default)',
    dflt: `${server.DEFAULT_QUOTA_BACKEND_BYTES} (2 GiB)`,
  },
  {
    group: MEMBER,
    flag: 'max-request-bytes',
    arg: '<n>',
    description: 'largest client request accepted, in bytes',
    dflt: `${server.DEFAULT_MAX_REQUEST_BYTES} (1.5 MiB)`,
  },
  {
    group: MEMBER,
    flag: 'max-txn-ops',
    arg: '<n>',
    description: 'most operations in one txn',
    dflt: String(DEFAULT_MAX_TXN_OPS),
  },
  {
    group: MEMBER,
    flag: 'grpc-keepalive-min-time',
    arg: '<duration>',
    description: 'minimum interval between client pings',
    dflt: '5s',
    duration: true,
  },
  {
    group: MEMBER,
    flag: 'grpc-keepalive-interval',
    arg: '<duration>',
    description: 'how often the server pings an idle client',
    dflt: '2h',
    duration: true,
  },
  {
    group: MEMBER,
    flag: 'grpc-keepalive-timeout',
    arg: '<duration>',
    description: 'how long a server ping may go unanswered',
    dflt: '20s',
    duration: true,
  },
  {
    group: MEMBER,
    flag: 'experimental-watch-progress-notify-interval',
    arg: '<duration>',
    description: 'progress notifications to watchers that asked for them',
    dflt: '10m',
    duration: true,
  },
  {
    group: MEMBER,
    flag: 'experimental-enable-lease-checkpoint',
    arg: '[bool]',
    description: "record leases' remaining TTL through Raft, so a new leader does not restart them in full",
    dflt: 'true',
  },
  {
    group: MEMBER,
    flag: 'experimental-lease-checkpoint-interval',
    arg: '<duration>',
    description: 'how often the leader records remaining lease TTLs',
    dflt: '5m',
    duration: true,
  },
  {
    group: MEMBER,
    flag: 'experimental-warning-apply-duration',
    arg: '<duration>',
    description: "warn when applying a request takes longer ('apply request took too long')",
    dflt: '100ms',
    duration: true,
  },
  {
    group: MEMBER,
    flag: 'warning-apply-duration',
    arg: '<duration>',
    description: "the same, under etcd 3.6's name",
    dflt: '100ms',
    duration: true,
  },
  {
    group: MEMBER,
    flag: 'cors',
    arg: '<origins>',
    description: 'comma-separated origins browsers may call the HTTP gateway from (empty or * means any)',
    dflt: '*',
  },
  {
    group: CLUSTER,
    flag: 'initial-advertise-peer-urls',
    arg: '<urls>',
    description: "this member's peer URLs advertised to the cluster",
    dflt: 'the listen peer URLs',
  },
  {
    group: CLUSTER,
    flag: 'initial-cluster',
    arg: '<pairs>',
    description: 'initial cluster configuration: name=peerURL,…',
    dflt: 'this member alone',
  },
  {
    group: CLUSTER,
    flag: 'initial-cluster-state',
    arg: '<state>',
    description: "'new' or 'existing' (joining a running cluster after member add)",
    dflt: 'new',
  },
  {
    group: CLUSTER,
    flag: 'initial-cluster-token',
    arg: '<token>',
    description: 'initial cluster token (member and cluster IDs derive from it)',
    dflt: server.DEFAULT_CLUSTER_TOKEN,
  },
  {
    group: CLUSTER,
    flag: 'advertise-client-urls',
    arg: '<urls>',
    description: 'client URLs advertised to the cluster',
    dflt: 'the listen client URLs',
  },
  {
    group: CLUSTER,
    flag: 'auto-compaction-mode',
    arg: '<mode>',
    description: "'periodic' or 'revision'",
    dflt: 'periodic',
  },
  {
    group: CLUSTER,
    flag: 'auto-compaction-retention',
    arg: '<value>',
    description: 'periodic: a duration (or hours); revision: a revision count; 0 = off',
    dflt: '0',
  },
  {
    group: SECURITY,
    flag: 'cert-file',
    arg: '<file>',
    description: 'TLS certificate of the https:// client URLs',
  },
  {
    group: SECURITY,
    flag: 'key-file',
    arg: '<file>',
    description: 'TLS private key of the https:// client URLs',
  },
  {
    group: SECURITY,
    flag: 'trusted-ca-file',
    arg: '<file>',
    description: 'CA bundle that verifies client certificates',
  },
  {
    group: SECURITY,
    flag: 'client-cert-auth',
    arg: '[bool]',
    description: 'require a client certificate signed by --trusted-ca-file',
    dflt: 'false',
  },
  {
    group: SECURITY,
    flag: 'peer-cert-file',
    arg: '<file>',
    description: 'TLS certificate of the https:// peer URLs (also presented to peers)',
  },
  {
    group: SECURITY,
    flag: 'peer-key-file',
    arg: '<file>',
    description: 'TLS private key of the https:// peer URLs',
  },
  {
    group: SECURITY,
    flag: 'peer-trusted-ca-file',
    arg: '<file>',
    description: 'CA bundle that verifies peer certificates',
  },
  {
    group: SECURITY,
    flag: 'peer-client-cert-auth',
    arg: '[bool]',
    description: 'require peers to present a certificate signed by --peer-trusted-ca-file',
    dflt: 'false',
  },
  {
    group: AUTH,
    flag: 'auth-token',
    arg: '<spec>',
    description: "'simple' or 'jwt,pub-key=<pem>,priv-key=<pem>,sign-method=RS256|ES256…[,ttl=5m]'",
    dflt: 'simple',
  },
  {
    group: AUTH,
    flag: 'auth-token-ttl',
    arg: '<seconds>',
    description: 'seconds an unused simple token stays valid',
    dflt: String(server.DEFAULT_AUTH_TOKEN_TTL_SEC),
  },
  {
    group: AUTH,
    flag: 'bcrypt-cost',
    arg: '<n>',
    description: 'bcrypt cost for hashing auth passwords, 4 to 31',
    dflt: String(server.DEFAULT_BCRYPT_COST),
  },
  {
    group: LOGGING,
    flag: 'logger',
    arg: '<logger>',
    description: "'zap' (JSON lines); 'capnslog' is not supported",
    dflt: 'zap',
  },
  {
    group: LOGGING,
    flag: 'log-level',
    arg: '<level>',
    description: 'debug, info, warn, error, panic or fatal',
    dflt: 'info',
  },
  {
    group: LOGGING,
    flag: 'log-outputs',
    arg: '<outputs>',
    description: "comma-separated: 'stderr', 'stdout', 'default' (stderr) or file paths",
    dflt: 'default',
  },
  {
    group: LOGGING,
    flag: 'log-format',
    arg: '<format>',
    description: "'json' or 'console' (readable)",
    dflt: 'console on a terminal, else json',
  },
  {
    group: LOGGING,
    flag: 'debug',
    arg: '[bool]',
    description: "etcd 3.4's switch for debug-level logs (--log-level debug)",
    dflt: 'false',
  },
  {
    group: CONCORD,
    flag: 'snapshot-store',
    arg: '<store>',
    description:
      'shared snapshot store (postgres://…[?schema=…] or a directory): the leader uploads snapshots, joining members start from them',
  },
  {
    group: CONCORD,
    flag: 'dashboard',
    arg: '<host:port>',
    description:
      "also serve the web dashboard (as `concord dashboard`) of this member's cluster here; read-only, viewers log in when auth is on",
  },
  {
    group: CONCORD,
    flag: 'dashboard-allow-writes',
    arg: '[bool]',
    description: 'let the --dashboard edit feature flags and revoke leases',
    dflt: 'false',
  },
  {
    group: CONCORD,
    flag: 'snapshot-store-retention',
    arg: '<n>',
    description: 'snapshots kept in the shared store per member',
    dflt: String(server.DEFAULT_SNAPSHOT_STORE_RETENTION),
  },
];
