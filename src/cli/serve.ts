/**
 * `concord serve`: runs a member with etcd's flags.
 *
 *   concord serve [--name default] [--data-dir ./concord.data]
 *                 [--listen-client-urls http://127.0.0.1:2379] [--advertise-client-urls …]
 *                 [--listen-peer-urls …] [--initial-advertise-peer-urls …] [--initial-cluster name=url,…]
 *                 [--initial-cluster-state new|existing] [--initial-cluster-token etcd-cluster]
 *                 [--snapshot-count 100000] [--quota-backend-bytes 2147483648]
 *                 [--max-request-bytes 1572864] [--max-txn-ops 128]
 *                 [--heartbeat-interval 100] [--election-timeout 1000] [--listen-metrics-urls …]
 *                 [--snapshot-store postgres://…|dir] [--snapshot-store-retention 5]
 *                 [--cert-file f --key-file f [--trusted-ca-file f] [--client-cert-auth]]
 *                 [--peer-cert-file f --peer-key-file f [--peer-trusted-ca-file f] [--peer-client-cert-auth]]
 *
 * Prints one line `concord: ready to serve client requests on <host:port,…>` on stdout once the
 * member answers; SIGTERM/SIGINT shut it down gracefully (exit 0).
 */
import { Command } from 'commander';
import { resolveConfig, type ServeFlags, startMember } from '../server/index.js';

export function serveCommand(): Command {
  return (
    new Command('serve')
      .description('run a Concord member (etcd v3 API on the client URLs)')
      .option('--name <name>', 'human-readable name for this member', 'default')
      .option('--data-dir <dir>', 'path to the data directory', './concord.data')
      .option('--listen-client-urls <urls>', 'URLs to listen on for client traffic', 'http://127.0.0.1:2379')
      .option(
        '--advertise-client-urls <urls>',
        'client URLs advertised to the cluster (default: the listen URLs)',
      )
      .option('--listen-peer-urls <urls>', 'URLs to listen on for peer traffic')
      .option('--initial-advertise-peer-urls <urls>', "this member's peer URLs advertised to the cluster")
      .option('--initial-cluster <pairs>', 'initial cluster configuration: name=peerURL,…')
      .option('--initial-cluster-state <state>', 'new or existing', 'new')
      .option('--initial-cluster-token <token>', 'initial cluster token', 'etcd-cluster')
      .option('--listen-metrics-urls <urls>', 'URLs for /health and /version over HTTP/1')
      .option('--snapshot-count <n>', 'applied entries between snapshots')
      .option(
        '--experimental-snapshot-catchup-entries <n>',
        'log entries kept behind a snapshot for slow followers (default 5000)',
      )
      .option('--snapshot-catchup-entries <n>', "the same, under etcd 3.6's name")
      .option('--quota-backend-bytes <n>', 'NOSPACE alarm above this many bytes of keyspace')
      .option('--max-request-bytes <n>', 'largest client request accepted, in bytes')
      .option('--max-txn-ops <n>', 'most operations in one txn')
      .option('--heartbeat-interval <ms>', 'heartbeat interval in ms')
      .option('--election-timeout <ms>', 'election timeout in ms')
      .option(
        '--experimental-watch-progress-notify-interval <duration>',
        'progress notifications to watchers that asked for them (e.g. 10m, 1s)',
      )
      .option('--auto-compaction-mode <mode>', 'periodic or revision (default periodic)')
      .option(
        '--auto-compaction-retention <value>',
        'periodic: a duration (or hours); revision: a revision count; 0 = off (default)',
      )
      .option('--grpc-keepalive-min-time <duration>', 'minimum interval between client pings (default 5s)')
      .option(
        '--grpc-keepalive-interval <duration>',
        'how often the server pings an idle client (default 2h)',
      )
      .option('--grpc-keepalive-timeout <duration>', 'how long a server ping may go unanswered (default 20s)')
      .option(
        '--experimental-enable-lease-checkpoint [bool]',
        "record leases' remaining TTL through Raft so a new leader does not restart them in full (default true)",
      )
      .option(
        '--experimental-lease-checkpoint-interval <duration>',
        'how often the leader records remaining lease TTLs (default 5m)',
      )
      .option(
        '--snapshot-store <store>',
        'shared snapshot store (postgres://…[?schema=…] or a directory): the leader uploads snapshots, joining members start from them',
      )
      .option('--snapshot-store-retention <n>', 'snapshots kept in the shared store per member (default 5)')
      .option('--cert-file <file>', 'TLS certificate of the https:// client URLs')
      .option('--key-file <file>', 'TLS private key of the https:// client URLs')
      .option('--trusted-ca-file <file>', 'CA bundle that verifies client certificates')
      .option('--client-cert-auth [bool]', 'require a client certificate signed by --trusted-ca-file')
      .option(
        '--peer-cert-file <file>',
        'TLS certificate of the https:// peer URLs (also presented to peers)',
      )
      .option('--peer-key-file <file>', 'TLS private key of the https:// peer URLs')
      .option('--peer-trusted-ca-file <file>', 'CA bundle that verifies peer certificates')
      .option(
        '--peer-client-cert-auth [bool]',
        'require peers to present a certificate signed by --peer-trusted-ca-file',
      )
      .option(
        '--auth-token <spec>',
        "auth tokens: 'simple' (default) or 'jwt,pub-key=<pem>,priv-key=<pem>,sign-method=RS256|ES256…[,ttl=5m]'",
      )
      .option('--auth-token-ttl <seconds>', 'seconds an unused simple token stays valid (default 300)')
      .option('--bcrypt-cost <n>', 'bcrypt cost for hashing auth passwords, 4 to 31 (default 10)')
      // etcd's logging flags are accepted so etcd command lines run unchanged; Concord logs to stderr.
      .option('--logger <logger>', "accepted for etcd compatibility ('zap'); ignored")
      .option('--log-outputs <outputs>', "accepted for etcd compatibility ('default', 'stderr'); ignored")
      .option('--log-level <level>', 'accepted for etcd compatibility; ignored')
      .action(async (o: Record<string, string | undefined>) => {
        const flags: ServeFlags = {
          name: o.name,
          dataDir: o.dataDir,
          listenClientUrls: o.listenClientUrls,
          advertiseClientUrls: o.advertiseClientUrls,
          listenPeerUrls: o.listenPeerUrls,
          initialAdvertisePeerUrls: o.initialAdvertisePeerUrls,
          initialCluster: o.initialCluster,
          initialClusterState: o.initialClusterState,
          initialClusterToken: o.initialClusterToken,
          listenMetricsUrls: o.listenMetricsUrls,
          snapshotCount: o.snapshotCount,
          snapshotCatchUpEntries: o.snapshotCatchupEntries ?? o.experimentalSnapshotCatchupEntries,
          quotaBackendBytes: o.quotaBackendBytes,
          maxRequestBytes: o.maxRequestBytes,
          maxTxnOps: o.maxTxnOps,
          heartbeatIntervalMs: o.heartbeatInterval,
          electionTimeoutMs: o.electionTimeout,
          watchProgressNotifyIntervalMs: o.experimentalWatchProgressNotifyInterval,
          autoCompactionMode: o.autoCompactionMode,
          autoCompactionRetention: o.autoCompactionRetention,
          grpcKeepaliveMinTimeMs: o.grpcKeepaliveMinTime,
          grpcKeepaliveIntervalMs: o.grpcKeepaliveInterval,
          grpcKeepaliveTimeoutMs: o.grpcKeepaliveTimeout,
          // `[bool]`: commander gives true for the bare flag.
          enableLeaseCheckpoint:
            o.experimentalEnableLeaseCheckpoint === undefined
              ? undefined
              : String(o.experimentalEnableLeaseCheckpoint),
          leaseCheckpointInterval: o.experimentalLeaseCheckpointInterval,
          snapshotStore: o.snapshotStore,
          snapshotStoreRetention: o.snapshotStoreRetention,
          certFile: o.certFile,
          keyFile: o.keyFile,
          trustedCaFile: o.trustedCaFile,
          clientCertAuth: boolText(o.clientCertAuth),
          peerCertFile: o.peerCertFile,
          peerKeyFile: o.peerKeyFile,
          peerTrustedCaFile: o.peerTrustedCaFile,
          peerClientCertAuth: boolText(o.peerClientCertAuth),
          authToken: o.authToken,
          authTokenTtlSec: o.authTokenTtl,
          bcryptCost: o.bcryptCost,
        };
        const config = resolveConfig(flags);
        const member = await startMember(config);
        const shutdown = (signal: string) => {
          process.stderr.write(`concord: ${signal}: shutting down\n`);
          member.stop().then(
            () => process.exit(0),
            (err: unknown) => {
              process.stderr.write(`concord: shutdown failed: ${String(err)}\n`);
              process.exit(1);
            },
          );
        };
        member.removed.then(() => shutdown('removed from the cluster'));
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
        const extra = member.metricsAddresses.length ? ` (http: ${member.metricsAddresses.join(',')})` : '';
        process.stdout.write(
          `concord: ready to serve client requests on ${member.clientAddresses.join(',')}${extra}\n`,
        );
      })
  );
}

/** A `[bool]` option: commander gives `true` for `--flag` alone, the text for `--flag=false`. */
function boolText(v: unknown): string | undefined {
  return v === undefined ? undefined : String(v);
}
