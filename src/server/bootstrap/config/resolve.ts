/**
 * The flags as given to the configuration a member runs with: each value read, defaults filled
 * in, and the checks etcd makes across flags (the member is in --initial-cluster, https:// needs
 * TLS files, the election timeout is at least five heartbeats), with etcd's words.
 */
import { DEFAULT_MAX_TXN_OPS } from '../../../mvcc/index.js';
import { ConfigError } from '../../errors.js';
import {
  authTokenOf,
  autoCompactionOf,
  bcryptCostOf,
  booleanFlag,
  corsOf,
  parseDuration,
  parseUrls,
  positiveInt,
  tlsFilesOf,
} from './flag-values.js';
import {
  DEFAULT_AUTH_TOKEN_TTL_SEC,
  DEFAULT_CLIENT_URL,
  DEFAULT_CLUSTER_TOKEN,
  DEFAULT_DATA_DIR,
  DEFAULT_ELECTION_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LEASE_CHECKPOINT_INTERVAL_MS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_NAME,
  DEFAULT_PEER_URL,
  DEFAULT_QUOTA_BACKEND_BYTES,
  DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
  DEFAULT_SNAPSHOT_COUNT,
  DEFAULT_SNAPSHOT_STORE_RETENTION,
  DEFAULT_WARNING_APPLY_DURATION_MS,
  DEFAULT_WATCH_PROGRESS_NOTIFY_MS,
  type ServeConfig,
  type ServeFlags,
} from './serve-config.js';

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

/** `http://h:p` → `h:p` for listen(). */
export function hostPort(url: string): string {
  const u = new URL(url);
  return u.host;
}
