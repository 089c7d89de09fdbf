/**
 * A member's configuration: etcd's flags where they exist, their defaults, and validation with
 * messages that quote the bad value. Member and cluster IDs are derived as etcd derives them
 * (SHA-1 over the peer URLs and the cluster token; over the sorted member IDs), so a member
 * keeps its identity across restarts with the same flags.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { DEFAULT_MAX_TXN_OPS } from '../mvcc/index.js';
import { type CompactionMode, parseRetention } from './compactor.js';
import { ConfigError } from './errors.js';
import type { TlsFiles } from './tls.js';

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

function booleanFlag(flag: string, value: string | undefined, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (value === 'true' || value === '') return true;
  if (value === 'false') return false;
  throw new ConfigError(`--${flag}: expected true or false, got ${JSON.stringify(value)}`);
}

/** One port's TLS flags; undefined when neither a certificate nor a key is given (etcd's TLSInfo.Empty). */
function tlsFilesOf(
  prefix: '' | 'peer-',
  certFile: string | undefined,
  keyFile: string | undefined,
  trustedCaFile: string | undefined,
  clientCertAuth: string | undefined,
): TlsFiles | undefined {
  const auth = booleanFlag(`${prefix}client-cert-auth`, clientCertAuth, false);
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile)
    throw new ConfigError(`--${prefix}cert-file and --${prefix}key-file must be given together`);
  return { certFile, keyFile, trustedCaFile: trustedCaFile || undefined, clientCertAuth: auth };
}

/** etcd's --auth-token value: "simple" or "jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…" (decomposeOpts). */
function authTokenOf(value: string | undefined): ServeConfig['authToken'] {
  const [type = '', ...rest] = (value ?? 'simple').split(',');
  const options: Record<string, string> = {};
  for (const o of rest) {
    const pair = o.split('=');
    if (pair.length !== 2 || pair[0]! in options)
      throw new ConfigError(
        `--auth-token: invalid token option ${JSON.stringify(o)} in ${JSON.stringify(value)}`,
      );
    options[pair[0]!] = pair[1]!;
  }
  if (type !== 'simple' && type !== 'jwt')
    throw new ConfigError(`--auth-token: expected "simple" or "jwt", got ${JSON.stringify(type)}`);
  if (type === 'jwt' && (!options['pub-key'] || !options['sign-method']))
    throw new ConfigError(
      `--auth-token: jwt needs pub-key=<file> and sign-method=<alg> (priv-key=<file> to sign), got ${JSON.stringify(value)}`,
    );
  if (type === 'jwt' && options.ttl !== undefined) parseDuration('auth-token ttl', options.ttl);
  return { type, options };
}

function autoCompactionOf(
  mode: string | undefined,
  retention: string | undefined,
): { mode: CompactionMode; retention: number } | undefined {
  const m = mode ?? 'periodic';
  if (m !== 'periodic' && m !== 'revision')
    throw new ConfigError(
      `--auto-compaction-mode: expected "periodic" or "revision", got ${JSON.stringify(m)}`,
    );
  if (retention === undefined || retention === '0' || retention === '') return undefined;
  try {
    return {
      mode: m,
      retention: parseRetention(m, retention, (v) => parseDuration('auto-compaction-retention', v)),
    };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
}

export const DEFAULT_WATCH_PROGRESS_NOTIFY_MS = 10 * 60_000;
const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration ("10m", "1.5s", "1h30m", "500ms") in milliseconds, as etcd's duration flags take. */
export function parseDuration(flag: string, value: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (value === '' || at !== value.length || ms <= 0)
    throw new ConfigError(
      `--${flag}: expected a duration such as "10m" or "500ms", got ${JSON.stringify(value)}`,
    );
  return ms;
}

export function parseUrls(flag: string, value: string): URL[] {
  return value.split(',').map((s) => {
    let u: URL;
    try {
      u = new URL(s.trim());
    } catch {
      throw new ConfigError(`--${flag}: ${JSON.stringify(s)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new ConfigError(`--${flag}: ${JSON.stringify(s)}: expected an http:// or https:// URL`);
    if (!u.port) throw new ConfigError(`--${flag}: ${JSON.stringify(s)} has no port`);
    return u;
  });
}

function positiveInt(flag: string, value: string | undefined, dflt: number, min = 1): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new ConfigError(`--${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

const urlText = (u: URL): string => `${u.protocol}//${u.host}`;

export function resolveConfig(f: ServeFlags): ServeConfig {
  const name = f.name ?? DEFAULT_NAME;
  if (name === '') throw new ConfigError('--name must not be empty');
  const listenClient = parseUrls('listen-client-urls', f.listenClientUrls ?? DEFAULT_CLIENT_URL).map(urlText);
  const advertiseClient = f.advertiseClientUrls
    ? parseUrls('advertise-client-urls', f.advertiseClientUrls).map(urlText)
    : listenClient;
  const listenPeer = parseUrls('listen-peer-urls', f.listenPeerUrls ?? DEFAULT_PEER_URL).map(urlText);
  const advertisePeer = f.initialAdvertisePeerUrls
    ? parseUrls('initial-advertise-peer-urls', f.initialAdvertisePeerUrls).map(urlText)
    : listenPeer;
  const cluster = f.initialCluster
    ? f.initialCluster.split(',').map((pair) => {
        const at = pair.indexOf('=');
        if (at <= 0)
          throw new ConfigError(`--initial-cluster: expected name=url pairs, got ${JSON.stringify(pair)}`);
        const peerUrl = urlText(parseUrls('initial-cluster', pair.slice(at + 1))[0]!);
        return { name: pair.slice(0, at).trim(), peerUrl };
      })
    : advertisePeer.map((peerUrl) => ({ name, peerUrl }));
  const names = new Set(cluster.map((m) => m.name));
  if (!names.has(name))
    throw new ConfigError(
      `couldn't find local name ${JSON.stringify(name)} in the initial cluster configuration`,
    );
  if (names.size > 7)
    throw new ConfigError(
      `--initial-cluster lists ${names.size} members: Concord runs clusters of 1 to 7 members`,
    );
  const clientTls = tlsFilesOf('', f.certFile, f.keyFile, f.trustedCaFile, f.clientCertAuth);
  const peerTls = tlsFilesOf(
    'peer-',
    f.peerCertFile,
    f.peerKeyFile,
    f.peerTrustedCaFile,
    f.peerClientCertAuth,
  );
  // etcd's checks, with its words; an http:// URL with TLS files set is served in the clear
  // (etcd warns and ignores the files for it; see member.ts).
  for (const u of listenClient)
    if (u.startsWith('https:') && !clientTls)
      throw new ConfigError(
        `TLS key/cert (--cert-file, --key-file) must be provided for client url ${u} with HTTPS scheme`,
      );
  for (const u of listenPeer)
    if (u.startsWith('https:') && !peerTls)
      throw new ConfigError(
        `cannot listen on TLS for ${new URL(u).host}: KeyFile and CertFile are not presented`,
      );
  const listenMetrics = f.listenMetricsUrls
    ? parseUrls('listen-metrics-urls', f.listenMetricsUrls).map(urlText)
    : [];
  for (const u of listenMetrics)
    if (u.startsWith('https:') && !clientTls)
      throw new ConfigError(
        `cannot listen on TLS for ${new URL(u).host}: KeyFile and CertFile are not presented`,
      );
  const state = f.initialClusterState ?? 'new';
  if (state !== 'new' && state !== 'existing')
    throw new ConfigError(
      `--initial-cluster-state: expected "new" or "existing", got ${JSON.stringify(state)}`,
    );
  const heartbeat = positiveInt('heartbeat-interval', f.heartbeatIntervalMs, DEFAULT_HEARTBEAT_MS);
  const election = positiveInt('election-timeout', f.electionTimeoutMs, DEFAULT_ELECTION_MS);
  if (election < 5 * heartbeat)
    throw new ConfigError(
      `--election-timeout[${election}ms] should be at least as 5 times as --heartbeat-interval[${heartbeat}ms]`,
    );
  return {
    name,
    dataDir: f.dataDir ?? DEFAULT_DATA_DIR,
    listenClientUrls: listenClient,
    advertiseClientUrls: advertiseClient,
    listenPeerUrls: listenPeer,
    initialAdvertisePeerUrls: advertisePeer,
    initialCluster: cluster,
    initialClusterState: state,
    initialClusterToken: f.initialClusterToken ?? DEFAULT_CLUSTER_TOKEN,
    listenMetricsUrls: listenMetrics,
    snapshotCount: positiveInt('snapshot-count', f.snapshotCount, DEFAULT_SNAPSHOT_COUNT),
    snapshotCatchUpEntries: positiveInt(
      'experimental-snapshot-catchup-entries',
      f.snapshotCatchUpEntries,
      DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
    ),
    quotaBackendBytes:
      positiveInt('quota-backend-bytes', f.quotaBackendBytes, DEFAULT_QUOTA_BACKEND_BYTES, 0) ||
      DEFAULT_QUOTA_BACKEND_BYTES,
    maxRequestBytes: positiveInt('max-request-bytes', f.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES),
    maxTxnOps: positiveInt('max-txn-ops', f.maxTxnOps, DEFAULT_MAX_TXN_OPS),
    heartbeatIntervalMs: heartbeat,
    electionTimeoutMs: election,
    watchProgressNotifyIntervalMs: f.watchProgressNotifyIntervalMs
      ? parseDuration('experimental-watch-progress-notify-interval', f.watchProgressNotifyIntervalMs)
      : DEFAULT_WATCH_PROGRESS_NOTIFY_MS,
    autoCompaction: autoCompactionOf(f.autoCompactionMode, f.autoCompactionRetention),
    grpcKeepaliveMinTimeMs: f.grpcKeepaliveMinTimeMs
      ? parseDuration('grpc-keepalive-min-time', f.grpcKeepaliveMinTimeMs)
      : 5_000,
    grpcKeepaliveIntervalMs: f.grpcKeepaliveIntervalMs
      ? parseDuration('grpc-keepalive-interval', f.grpcKeepaliveIntervalMs)
      : 2 * 60 * 60_000,
    grpcKeepaliveTimeoutMs: f.grpcKeepaliveTimeoutMs
      ? parseDuration('grpc-keepalive-timeout', f.grpcKeepaliveTimeoutMs)
      : 20_000,
    leaseCheckpointIntervalMs: booleanFlag(
      'experimental-enable-lease-checkpoint',
      f.enableLeaseCheckpoint,
      true,
    )
      ? f.leaseCheckpointInterval
        ? parseDuration('experimental-lease-checkpoint-interval', f.leaseCheckpointInterval)
        : DEFAULT_LEASE_CHECKPOINT_INTERVAL_MS
      : 0,
    snapshotStore: f.snapshotStore || undefined,
    snapshotStoreRetention: positiveInt(
      'snapshot-store-retention',
      f.snapshotStoreRetention,
      DEFAULT_SNAPSHOT_STORE_RETENTION,
    ),
    clientTls,
    peerTls,
    authToken: authTokenOf(f.authToken),
    authTokenTtlSec: positiveInt('auth-token-ttl', f.authTokenTtlSec, DEFAULT_AUTH_TOKEN_TTL_SEC),
    bcryptCost: bcryptCostOf(f.bcryptCost),
    cors: corsOf(f.cors),
    warningApplyDurationMs: f.warningApplyDurationMs
      ? parseDuration('experimental-warning-apply-duration', f.warningApplyDurationMs)
      : DEFAULT_WARNING_APPLY_DURATION_MS,
  };
}

/** etcd's --cors: comma-separated origins; empty or `*` allows any origin. */
function corsOf(value: string | undefined): string[] {
  const list = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0 || list.includes('*')) return ['*'];
  return [
    ...new Set(
      list.map((o) => {
        let u: URL | undefined;
        try {
          u = new URL(o);
        } catch {
          u = undefined;
        }
        if (!u || u.origin === 'null')
          throw new ConfigError(
            `--cors: ${JSON.stringify(o)} is not an origin: give scheme://host[:port] (as a browser sends it) or *`,
          );
        return u.origin;
      }),
    ),
  ];
}

/**
 * What can be checked before anything is written: the data dir is a directory, or one can be
 * created there; each listen address can be bound (another process holding a port is found
 * here, not after the member has recovered its data dir and elected itself). Each problem names
 * its flag and what to do. Ports are bound and released at once (port 0 is not checked).
 */
export async function checkStartable(config: ServeConfig): Promise<void> {
  await checkDataDir(config.dataDir);
  const given = new Map<string, string>();
  const held: net.Server[] = [];
  try {
    for (const [flag, urls] of [
      ['listen-peer-urls', config.listenPeerUrls],
      ['listen-client-urls', config.listenClientUrls],
      ['listen-metrics-urls', config.listenMetricsUrls],
    ] as const) {
      for (const url of urls) {
        const u = new URL(url);
        if (u.port === '0') continue;
        const other = given.get(u.host);
        if (other)
          throw new ConfigError(
            `--${flag} ${url}: ${u.host} is also given to --${other}; give each listener its own port`,
          );
        given.set(u.host, flag);
        held.push(await bindable(flag, url));
      }
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}

function bindable(flag: string, url: string): Promise<net.Server> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'address already in use (another etcd or concord?); choose another port'
          : err.code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine; listen on one of its addresses (or 0.0.0.0)`
            : err.code === 'EACCES'
              ? 'permission denied (ports below 1024 need privileges); choose a port above 1023'
              : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
                ? `cannot resolve the host name ${host}`
                : err.message;
      reject(new ConfigError(`--${flag} ${url}: ${why}`));
    });
    s.listen({ host, port: Number(u.port), exclusive: true }, () => resolve(s));
  });
}

async function checkDataDir(dir: string): Promise<void> {
  const flag = `--data-dir ${dir}`;
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw new ConfigError(`${flag}: ${err.message}`);
  });
  if (st) {
    if (!st.isDirectory())
      throw new ConfigError(
        `${flag}: exists and is not a directory; give the path of a directory (it is created if missing)`,
      );
    await access(dir, constants.W_OK | constants.X_OK).catch(() => {
      throw new ConfigError(`${flag}: this user cannot write in it; give a directory it can write in`);
    });
    return;
  }
  // Missing: the nearest existing ancestor must be a directory this user can write in.
  let parent = path.dirname(path.resolve(dir));
  for (;;) {
    const p = await stat(parent).catch(() => undefined);
    if (p) {
      if (!p.isDirectory())
        throw new ConfigError(
          `${flag}: ${parent} is a file, so the directory cannot be created there; choose another path`,
        );
      await access(parent, constants.W_OK | constants.X_OK).catch(() => {
        throw new ConfigError(
          `${flag}: cannot be created: this user cannot write in ${parent}; choose another path`,
        );
      });
      return;
    }
    const up = path.dirname(parent);
    if (up === parent) return;
    parent = up;
  }
}

function bcryptCostOf(value: string | undefined): number {
  const cost = positiveInt('bcrypt-cost', value, DEFAULT_BCRYPT_COST);
  if (cost < MIN_BCRYPT_COST || cost > MAX_BCRYPT_COST)
    throw new ConfigError(
      `--bcrypt-cost: expected ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}, got ${JSON.stringify(value)}`,
    );
  return cost;
}

/** etcd's member ID: the first 8 bytes of SHA-1(sorted peer URLs joined + cluster token), big-endian. */
export function memberIdOf(peerUrls: string[], token: string): bigint {
  const h = createHash('sha1')
    .update([...peerUrls].sort().join(''))
    .update(token)
    .digest();
  return h.readBigUInt64BE(0);
}

/** etcd's cluster ID: the first 8 bytes of SHA-1 over the sorted member IDs (8 bytes big-endian each). */
export function clusterIdOf(memberIds: bigint[]): bigint {
  const ids = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * ids.length);
  for (let i = 0; i < ids.length; i++) b.writeBigUInt64BE(ids[i]!, 8 * i);
  return createHash('sha1').update(b).digest().readBigUInt64BE(0);
}

/** `http://h:p` → `h:p` for listen(). */
export function hostPort(url: string): string {
  const u = new URL(url);
  return u.host;
}
