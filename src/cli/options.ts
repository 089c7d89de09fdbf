/**
 * `concord serve`'s configuration, taken as etcd takes its own:
 *
 * - every flag on the command line (`--flag value`, `--flag=value`, and Go's `-flag value`);
 * - every flag from its environment variable: `ETCD_` + the flag upper-cased, dashes to
 *   underscores (`--initial-cluster` ← `ETCD_INITIAL_CLUSTER`); a flag given on the command line
 *   wins over its variable (which is then reported as shadowed), an empty variable is unset;
 * - or, with `--config-file` (or `ETCD_CONFIG_FILE`), everything from etcd's YAML file
 *   (etcd.conf.yml: the flag names as keys, TLS under `client-transport-security` and
 *   `peer-transport-security`): the file wins and other flags and variables are ignored, with a
 *   warning naming them (etcd 3.4 says so too).
 *
 * etcd flags Concord does not implement are accepted, each with one warning naming it (none
 * when the value given is what Concord does anyway, e.g. `--enable-v2=false`), so an etcd command
 * line, systemd unit or config file starts Concord unchanged.
 */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import YAML from 'yaml';
import { DEFAULT_MAX_TXN_OPS } from '../mvcc/index.js';
import {
  ConfigError,
  DEFAULT_AUTH_TOKEN_TTL_SEC,
  DEFAULT_BCRYPT_COST,
  DEFAULT_CLIENT_URL,
  DEFAULT_CLUSTER_TOKEN,
  DEFAULT_DATA_DIR,
  DEFAULT_ELECTION_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_NAME,
  DEFAULT_PEER_URL,
  DEFAULT_QUOTA_BACKEND_BYTES,
  DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
  DEFAULT_SNAPSHOT_COUNT,
  DEFAULT_SNAPSHOT_STORE_RETENTION,
  type ServeFlags,
  SNAPSHOTS_KEPT,
} from '../server/index.js';

/** A flag Concord implements. */
interface FlagSpec {
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
    dflt: DEFAULT_NAME,
  },
  {
    group: MEMBER,
    flag: 'data-dir',
    arg: '<dir>',
    description: 'path to the data directory',
    dflt: DEFAULT_DATA_DIR,
  },
  {
    group: MEMBER,
    flag: 'listen-client-urls',
    arg: '<urls>',
    description: 'URLs to listen on for client traffic (gRPC and HTTP)',
    dflt: DEFAULT_CLIENT_URL,
  },
  {
    group: MEMBER,
    flag: 'listen-peer-urls',
    arg: '<urls>',
    description: 'URLs to listen on for peer traffic',
    dflt: DEFAULT_PEER_URL,
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
    dflt: String(DEFAULT_SNAPSHOT_COUNT),
  },
  {
    group: MEMBER,
    flag: 'experimental-snapshot-catchup-entries',
    arg: '<n>',
    description: 'log entries kept behind a snapshot for slow followers',
    dflt: String(DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES),
  },
  {
    group: MEMBER,
    flag: 'snapshot-catchup-entries',
    arg: '<n>',
    description: "the same, under etcd 3.6's name",
    dflt: String(DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES),
  },
  {
    group: MEMBER,
    flag: 'heartbeat-interval',
    arg: '<ms>',
    description: 'heartbeat interval in ms',
    dflt: String(DEFAULT_HEARTBEAT_MS),
  },
  {
    group: MEMBER,
    flag: 'election-timeout',
    arg: '<ms>',
    description: 'election timeout in ms (at least 5 heartbeats)',
    dflt: String(DEFAULT_ELECTION_MS),
  },
  {
    group: MEMBER,
    flag: 'quota-backend-bytes',
    arg: '<n>',
    description: 'NOSPACE alarm above this many bytes of keyspace (0: the default)',
    dflt: `${DEFAULT_QUOTA_BACKEND_BYTES} (2 GiB)`,
  },
  {
    group: MEMBER,
    flag: 'max-request-bytes',
    arg: '<n>',
    description: 'largest client request accepted, in bytes',
    dflt: `${DEFAULT_MAX_REQUEST_BYTES} (1.5 MiB)`,
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
    dflt: DEFAULT_CLUSTER_TOKEN,
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
    dflt: String(DEFAULT_AUTH_TOKEN_TTL_SEC),
  },
  {
    group: AUTH,
    flag: 'bcrypt-cost',
    arg: '<n>',
    description: 'bcrypt cost for hashing auth passwords, 4 to 31',
    dflt: String(DEFAULT_BCRYPT_COST),
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
    flag: 'snapshot-store-retention',
    arg: '<n>',
    description: 'snapshots kept in the shared store per member',
    dflt: String(DEFAULT_SNAPSHOT_STORE_RETENTION),
  },
];

/**
 * etcd flags Concord accepts and does not implement: each given one is warned about once, with
 * why; `fine` values are what Concord does anyway (no warning).
 */
interface IgnoredSpec {
  flag: string;
  why: string;
  fine?: (value: string) => boolean;
  /** Takes no value (a bool in etcd): the bare flag means true. */
  bool?: boolean;
}

const isFalse = (v: string) => v === 'false' || v === '0' || v === '';
const isTrue = (v: string) => v === 'true' || v === '1';
const NO_TLS_OPTION = "Node's TLS defaults apply (TLS 1.2 and 1.3, OpenSSL's default ciphers)";
const NOT_CHECKED =
  'NOT enforced: any certificate signed by the trusted CA is accepted; restrict with auth users or the CA';
const NO_BBOLT = 'Concord keeps the keyspace in memory with a WAL and snapshots (no bbolt backend)';
const NOT_IMPLEMENTED = 'not implemented by Concord';

export const IGNORED_FLAGS: IgnoredSpec[] = [
  { flag: 'wal-dir', why: 'the WAL is kept in <data-dir>/wal', fine: isFalse },
  { flag: 'max-wals', why: 'WAL segments are released once a snapshot covers them' },
  { flag: 'max-snapshots', why: `each member keeps its ${SNAPSHOTS_KEPT} newest snapshots` },
  {
    flag: 'enable-pprof',
    bool: true,
    why: 'no Go profiler here: use node --cpu-prof or --inspect',
    fine: isFalse,
  },
  {
    flag: 'auto-tls',
    bool: true,
    why: 'no self-signed certificates are generated: give --cert-file and --key-file',
    fine: isFalse,
  },
  {
    flag: 'peer-auto-tls',
    bool: true,
    why: 'no self-signed certificates are generated: give --peer-cert-file and --peer-key-file',
    fine: isFalse,
  },
  { flag: 'self-signed-cert-validity', why: 'no self-signed certificates are generated' },
  { flag: 'cipher-suites', why: NO_TLS_OPTION },
  { flag: 'tls-min-version', why: NO_TLS_OPTION },
  { flag: 'tls-max-version', why: NO_TLS_OPTION },
  { flag: 'client-crl-file', why: 'certificate revocation lists are NOT checked' },
  { flag: 'peer-crl-file', why: 'certificate revocation lists are NOT checked' },
  { flag: 'client-cert-allowed-hostname', why: NOT_CHECKED },
  { flag: 'client-cert-allowed-cn', why: NOT_CHECKED },
  { flag: 'peer-cert-allowed-cn', why: NOT_CHECKED },
  { flag: 'peer-cert-allowed-hostname', why: NOT_CHECKED },
  {
    flag: 'experimental-peer-skip-client-san-verification',
    bool: true,
    why: 'peer certificates are verified as TLS does',
    fine: isFalse,
  },
  { flag: 'host-whitelist', why: 'Host headers are not checked', fine: (v) => v === '*' || v === '' },
  { flag: 'enable-v2', bool: true, why: 'the v2 API is not served (v3 only)', fine: isFalse },
  { flag: 'experimental-enable-v2v3', why: 'the v2 API is not served (v3 only)', fine: (v) => v === '' },
  {
    flag: 'enable-grpc-gateway',
    bool: true,
    why: 'the HTTP gateway is always served',
    fine: (v) => v === '' || isTrue(v),
  },
  { flag: 'listen-client-http-urls', why: 'HTTP is served on the client URLs beside gRPC' },
  {
    flag: 'strict-reconfig-check',
    bool: true,
    why: 'membership changes are not checked for quorum loss',
    fine: isFalse,
  },
  { flag: 'pre-vote', bool: true, why: 'Concord always pre-votes', fine: (v) => v === '' || isTrue(v) },
  {
    flag: 'initial-election-tick-advance',
    bool: true,
    why: 'a new member always fast-forwards its first election',
    fine: (v) => v === '' || isTrue(v),
  },
  {
    flag: 'force-new-cluster',
    bool: true,
    why: 'not supported: restore a snapshot into a new data dir instead (concord snapshot restore)',
    fine: isFalse,
  },
  { flag: 'unsafe-no-fsync', bool: true, why: 'Concord always fsyncs its WAL', fine: isFalse },
  { flag: 'discovery', why: 'discovery is not supported: give --initial-cluster', fine: (v) => v === '' },
  {
    flag: 'discovery-srv',
    why: 'DNS discovery is not supported: give --initial-cluster',
    fine: (v) => v === '',
  },
  { flag: 'discovery-srv-name', why: 'DNS discovery is not supported', fine: (v) => v === '' },
  { flag: 'discovery-proxy', why: 'discovery is not supported', fine: (v) => v === '' },
  { flag: 'discovery-fallback', why: 'discovery is not supported', fine: () => true },
  { flag: 'proxy', why: 'proxy mode is not supported', fine: (v) => v === '' || v === 'off' },
  { flag: 'proxy-failure-wait', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'proxy-refresh-interval', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'proxy-dial-timeout', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'proxy-write-timeout', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'proxy-read-timeout', why: 'proxy mode is not supported', fine: () => true },
  { flag: 'metrics', why: "only 'basic' metrics are exported", fine: (v) => v === '' || v === 'basic' },
  { flag: 'log-package-levels', why: 'per-package log levels were capnslog’s: use --log-level' },
  {
    flag: 'enable-log-rotation',
    bool: true,
    why: 'logs are not rotated: use logrotate on the --log-outputs file',
    fine: isFalse,
  },
  { flag: 'log-rotation-config-json', why: 'logs are not rotated', fine: () => true },
  { flag: 'backend-batch-limit', why: NO_BBOLT },
  { flag: 'backend-batch-interval', why: NO_BBOLT },
  { flag: 'backend-bbolt-freelist-type', why: NO_BBOLT },
  { flag: 'experimental-backend-bbolt-freelist-type', why: NO_BBOLT },
  { flag: 'experimental-memory-mlock', bool: true, why: NO_BBOLT, fine: isFalse },
  { flag: 'experimental-bootstrap-defrag-threshold-megabytes', why: NO_BBOLT },
  {
    flag: 'experimental-txn-mode-write-with-shared-buffer',
    bool: true,
    why: NOT_IMPLEMENTED,
    fine: () => true,
  },
  { flag: 'max-concurrent-streams', why: NOT_IMPLEMENTED },
  { flag: 'socket-reuse-port', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'socket-reuse-address', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-initial-corrupt-check', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-corrupt-check-time', why: NOT_IMPLEMENTED },
  { flag: 'experimental-compact-hash-check-enabled', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-compact-hash-check-time', why: NOT_IMPLEMENTED },
  { flag: 'experimental-compaction-batch-limit', why: NOT_IMPLEMENTED },
  { flag: 'experimental-compaction-sleep-interval', why: NOT_IMPLEMENTED },
  { flag: 'experimental-downgrade-check-time', why: NOT_IMPLEMENTED },
  { flag: 'experimental-stop-grpc-service-on-defrag', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-max-learners', why: NOT_IMPLEMENTED },
  { flag: 'experimental-wait-cluster-ready-timeout', why: NOT_IMPLEMENTED },
  { flag: 'experimental-warning-unary-request-duration', why: NOT_IMPLEMENTED },
  {
    flag: 'experimental-enable-lease-checkpoint-persist',
    bool: true,
    why: 'checkpoints are always kept through Raft',
    fine: () => true,
  },
  { flag: 'experimental-enable-distributed-tracing', bool: true, why: NOT_IMPLEMENTED, fine: isFalse },
  { flag: 'experimental-distributed-tracing-address', why: NOT_IMPLEMENTED, fine: () => true },
  { flag: 'experimental-distributed-tracing-service-name', why: NOT_IMPLEMENTED, fine: () => true },
  { flag: 'experimental-distributed-tracing-instance-id', why: NOT_IMPLEMENTED, fine: () => true },
  { flag: 'experimental-distributed-tracing-sampling-rate', why: NOT_IMPLEMENTED, fine: () => true },
];

/** etcd's YAML transport sections: their keys, and the flag each one is. */
const TRANSPORT_KEYS: Record<string, [client: string, peer: string]> = {
  'cert-file': ['cert-file', 'peer-cert-file'],
  'key-file': ['key-file', 'peer-key-file'],
  'client-cert-auth': ['client-cert-auth', 'peer-client-cert-auth'],
  'trusted-ca-file': ['trusted-ca-file', 'peer-trusted-ca-file'],
  'auto-tls': ['auto-tls', 'peer-auto-tls'],
  'crl-file': ['client-crl-file', 'peer-crl-file'],
  'allowed-cn': ['client-cert-allowed-cn', 'peer-cert-allowed-cn'],
  'allowed-hostname': ['client-cert-allowed-hostname', 'peer-cert-allowed-hostname'],
  'skip-client-san-verification': [
    'experimental-peer-skip-client-san-verification',
    'experimental-peer-skip-client-san-verification',
  ],
};

const KNOWN = new Map<string, FlagSpec | IgnoredSpec>(
  [...SERVE_FLAGS, ...IGNORED_FLAGS].map((s) => [s.flag, s] as const),
);

/** `--initial-cluster` → `ETCD_INITIAL_CLUSTER` (etcd's flags.FlagToEnv). */
export const envOf = (flag: string): string => `ETCD_${flag.toUpperCase().replaceAll('-', '_')}`;

/** commander's attribute name for a flag. */
const attrOf = (flag: string): string => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Adds every flag (implemented and accepted-for-etcd) to `serve`, with defaults in --help. */
export function addServeOptions(cmd: Command): Command {
  for (const s of SERVE_FLAGS) {
    const text = s.dflt ? `${s.description} (default: ${s.dflt})` : s.description;
    cmd.addOption(new Option(`--${s.flag} ${s.arg}`, text).helpGroup(`${s.group}:`));
  }
  // Listed once at the end of --help (each one's reason is in the warning it gets).
  for (const s of IGNORED_FLAGS) cmd.addOption(new Option(`--${s.flag} [value]`, s.why).hideHelp());
  cmd.addHelpText(
    'after',
    `
Every flag can also be set from its environment variable, ETCD_ and the flag's name in capitals
with underscores (--initial-cluster: ETCD_INITIAL_CLUSTER), or from etcd's YAML --config-file
(then flags and variables are ignored). Single-dash flags (-name) work too, as etcd's do.

Accepted so that etcd command lines run unchanged, not implemented (each one given is warned
about once, with why):
${wrap(IGNORED_FLAGS.map((s) => `--${s.flag}`).join(', '), 96, '  ')}`,
  );
  return cmd;
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width - indent.length) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

/** Go's flag syntax: `-name x` and `-name=x` are `--name x` (etcd command lines use both). */
export function goStyleFlags(args: string[]): string[] {
  return args.map((a) => {
    const m = /^-([a-z][a-z0-9-]+)(=.*)?$/.exec(a);
    return m && KNOWN.has(m[1]!) ? `-${a}` : a;
  });
}

export interface Note {
  level: 'info' | 'warn';
  msg: string;
  fields?: Record<string, string>;
}

export interface ServeSettings {
  /** Each flag's value as text, by etcd flag name (only those given). */
  values: Map<string, string>;
  /** Where each value came from, for messages: "--name", "ETCD_NAME", "config.yml: name". */
  sources: Map<string, string>;
  /** To log once the logger exists: warnings for ignored flags, shadowed variables, … */
  notes: Note[];
}

function textOf(v: unknown): string {
  return v === true ? 'true' : String(v);
}

/**
 * The settings of one `serve` run, by etcd's rules (see the top of this file): the command
 * line, the environment, or the config file.
 */
export function collectServeSettings(cmd: Command, env: NodeJS.ProcessEnv): ServeSettings {
  const opts = cmd.opts<Record<string, unknown>>();
  const values = new Map<string, string>();
  const sources = new Map<string, string>();
  const notes: Note[] = [];
  const fromCli = new Map<string, string>();
  for (const flag of KNOWN.keys()) {
    const v = opts[attrOf(flag)];
    if (v !== undefined && cmd.getOptionValueSource(attrOf(flag)) === 'cli') fromCli.set(flag, textOf(v));
  }
  const fromEnv = new Map<string, string>();
  const knownEnv = new Set([...KNOWN.keys()].map(envOf));
  for (const [name, v] of Object.entries(env)) {
    // An empty variable is unset (etcd reads only non-empty ones).
    if (!name.startsWith('ETCD_') || v === undefined || v === '') continue;
    if (!knownEnv.has(name)) {
      // etcd's verifyEnv: the name only (a value may be a secret).
      notes.push({
        level: 'warn',
        msg: `unrecognized environment variable ${name}`,
        fields: { variable: name },
      });
      continue;
    }
    const flag = [...KNOWN.keys()].find((f) => envOf(f) === name)!;
    fromEnv.set(flag, v);
  }
  const configFile = fromCli.get('config-file') ?? fromEnv.get('config-file');
  if (configFile !== undefined) {
    const file = readConfigFile(configFile, notes);
    for (const [flag, v] of file) {
      values.set(flag, v);
      sources.set(flag, `${configFile}: ${flag}`);
    }
    notes.push({
      level: 'info',
      msg: `loaded server configuration from ${JSON.stringify(configFile)}; other configuration command line flags and environment variables will be ignored if provided`,
      fields: { path: configFile },
    });
    const ignored = [
      ...[...fromCli.keys()].filter((f) => f !== 'config-file').map((f) => `--${f}`),
      ...[...fromEnv.keys()].filter((f) => f !== 'config-file').map(envOf),
    ];
    if (ignored.length)
      notes.push({
        level: 'warn',
        msg: `--config-file is given: ignoring ${ignored.join(', ')} (the file's settings win, as in etcd)`,
        fields: { path: configFile },
      });
  } else {
    for (const [flag, v] of fromEnv) {
      if (fromCli.has(flag)) {
        notes.push({
          level: 'info',
          msg: `recognized environment variable ${envOf(flag)}, but unused: shadowed by corresponding flag`,
          fields: { variable: envOf(flag) },
        });
        continue;
      }
      values.set(flag, v);
      sources.set(flag, envOf(flag));
    }
    for (const [flag, v] of fromCli) {
      values.set(flag, v);
      sources.set(flag, `--${flag}`);
    }
  }
  for (const s of IGNORED_FLAGS) {
    const v = values.get(s.flag);
    if (v === undefined || s.fine?.(v)) continue;
    const from = sources.get(s.flag);
    notes.push({
      level: 'warn',
      msg: `ignoring --${s.flag} (not implemented by Concord): ${s.why}`,
      fields: { flag: s.flag, ...(from && from !== `--${s.flag}` ? { from } : {}) },
    });
  }
  return { values, sources, notes };
}

/** etcd's YAML config file as flag values (etcd's keys; the transport sections flattened). */
export function readConfigFile(file: string, notes: Note[]): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config-file ${file}: cannot read it: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`--config-file ${file}: not valid YAML: ${(err as Error).message}`);
  }
  const out = new Map<string, string>();
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(
      `--config-file ${file}: expected a mapping of etcd's settings (name: …, data-dir: …)`,
    );
  const put = (key: string, flag: string, v: unknown) => {
    if (v === null || v === undefined) return;
    const spec = KNOWN.get(flag);
    if (!spec) {
      notes.push({
        level: 'warn',
        msg: `--config-file ${file}: unknown key ${JSON.stringify(key)} ignored`,
        fields: { key },
      });
      return;
    }
    let value: string;
    if (Array.isArray(v)) value = v.map(textOf).join(',');
    else if (typeof v === 'object')
      throw new ConfigError(`--config-file ${file}: ${key}: expected a value, got a mapping`);
    // A Go time.Duration in etcd's YAML is a number of nanoseconds.
    else if (typeof v === 'number' && 'duration' in spec && spec.duration) value = `${v}ns`;
    else value = textOf(v);
    out.set(flag, value);
  };
  for (const [key, v] of Object.entries(doc as Record<string, unknown>)) {
    const side = key === 'client-transport-security' ? 0 : key === 'peer-transport-security' ? 1 : -1;
    if (side >= 0) {
      if (v === null || v === undefined) continue;
      if (typeof v !== 'object' || Array.isArray(v))
        throw new ConfigError(
          `--config-file ${file}: ${key}: expected a mapping (cert-file: …, key-file: …)`,
        );
      for (const [k, sub] of Object.entries(v as Record<string, unknown>)) {
        const flags = TRANSPORT_KEYS[k];
        if (!flags) {
          notes.push({
            level: 'warn',
            msg: `--config-file ${file}: unknown key ${JSON.stringify(`${key}.${k}`)} ignored`,
            fields: { key: `${key}.${k}` },
          });
          continue;
        }
        put(`${key}.${k}`, side === 0 ? flags[0] : flags[1], sub);
      }
      continue;
    }
    put(key, key, v);
  }
  return out;
}

/** The settings as resolveConfig's flags. */
export function serveFlagsOf(values: Map<string, string>): ServeFlags {
  const v = (flag: string) => values.get(flag);
  return {
    name: v('name'),
    dataDir: v('data-dir'),
    listenClientUrls: v('listen-client-urls'),
    advertiseClientUrls: v('advertise-client-urls'),
    listenPeerUrls: v('listen-peer-urls'),
    initialAdvertisePeerUrls: v('initial-advertise-peer-urls'),
    initialCluster: v('initial-cluster'),
    initialClusterState: v('initial-cluster-state'),
    initialClusterToken: v('initial-cluster-token'),
    listenMetricsUrls: v('listen-metrics-urls'),
    snapshotCount: v('snapshot-count'),
    snapshotCatchUpEntries: v('snapshot-catchup-entries') ?? v('experimental-snapshot-catchup-entries'),
    quotaBackendBytes: v('quota-backend-bytes'),
    maxRequestBytes: v('max-request-bytes'),
    maxTxnOps: v('max-txn-ops'),
    heartbeatIntervalMs: v('heartbeat-interval'),
    electionTimeoutMs: v('election-timeout'),
    watchProgressNotifyIntervalMs: v('experimental-watch-progress-notify-interval'),
    autoCompactionMode: v('auto-compaction-mode'),
    autoCompactionRetention: v('auto-compaction-retention'),
    grpcKeepaliveMinTimeMs: v('grpc-keepalive-min-time'),
    grpcKeepaliveIntervalMs: v('grpc-keepalive-interval'),
    grpcKeepaliveTimeoutMs: v('grpc-keepalive-timeout'),
    enableLeaseCheckpoint: v('experimental-enable-lease-checkpoint'),
    leaseCheckpointInterval: v('experimental-lease-checkpoint-interval'),
    snapshotStore: v('snapshot-store'),
    snapshotStoreRetention: v('snapshot-store-retention'),
    certFile: v('cert-file'),
    keyFile: v('key-file'),
    trustedCaFile: v('trusted-ca-file'),
    clientCertAuth: v('client-cert-auth'),
    peerCertFile: v('peer-cert-file'),
    peerKeyFile: v('peer-key-file'),
    peerTrustedCaFile: v('peer-trusted-ca-file'),
    peerClientCertAuth: v('peer-client-cert-auth'),
    authToken: v('auth-token'),
    authTokenTtlSec: v('auth-token-ttl'),
    bcryptCost: v('bcrypt-cost'),
    cors: v('cors'),
    warningApplyDurationMs: v('warning-apply-duration') ?? v('experimental-warning-apply-duration'),
  };
}

/** A ConfigError about `--flag` whose value came from a variable or the config file says so. */
export function withSource(err: unknown, sources: Map<string, string>): unknown {
  if (!(err instanceof ConfigError)) return err;
  const flag = /--([a-z0-9-]+)/.exec(err.message)?.[1];
  const from = flag && sources.get(flag);
  if (!from || from === `--${flag}`) return err;
  return new ConfigError(`${err.message} (from ${from})`);
}
