/**
 * `concord serve`: runs a member with etcd's flags (see options.ts for the list, environment
 * variables and --config-file; `concord serve --help` for defaults).
 *
 * Before anything is written, what can be checked is (config.ts checkStartable: the data dir,
 * each listen address). The member logs JSON lines as etcd 3.5 does (logging.ts) and prints one
 * line `concord: ready to serve client requests on <host:port,…>` on stdout once it answers (the
 * same text is logged). SIGTERM/SIGINT shut it down gracefully (exit 0).
 */
import { Command } from 'commander';
import { setDefaultLogger } from '../log.js';
import { DEFAULT_JWT_TTL_MS, JwtTokens } from '../server/auth/auth-jwt.js';
import { tuneHeap } from '../server/bootstrap/heap-tuning.js';
import { loadMemberTls } from '../server/bootstrap/tls.js';
import {
  checkStartable,
  parseDuration,
  resolveConfig,
  type ServeConfig,
  startMember,
} from '../server/index.js';
import { createLogger } from './logging.js';
import { addServeOptions, collectServeSettings, serveFlagsOf, withSource } from './options.js';
import { type ServeDashboard, serveDashboardOf, startServeDashboard } from './serve-dashboard.js';

export function serveCommand(): Command {
  const cmd = new Command('serve').description(
    'run a Concord member (etcd v3 API on the client URLs); takes etcd’s flags, ETCD_* variables or --config-file',
  );
  return addServeOptions(cmd).action(async (_o: unknown, self: Command) => {
    // Before the keyspace is loaded: the factor applies from the next collection on.
    tuneHeap();
    const settings = collectServeSettings(self, process.env);
    const { values, sources } = settings;
    let config: ServeConfig;
    let dashboardFlags: ServeDashboard | undefined;
    try {
      config = resolveConfig(serveFlagsOf(values));
      dashboardFlags = serveDashboardOf(values);
      await checkFiles(config);
      await checkStartable(config);
    } catch (err) {
      throw withSource(err, sources);
    }
    const debug = values.get('debug');
    const { logger, warnings } = (() => {
      try {
        return createLogger(
          {
            level: values.get('log-level') ?? (debug === 'true' || debug === '1' ? 'debug' : undefined),
            outputs: values.get('log-outputs'),
            format: values.get('log-format'),
            logger: values.get('logger'),
          },
          { name: config.name },
        );
      } catch (err) {
        throw withSource(err, sources);
      }
    })();
    setDefaultLogger(logger);
    for (const w of warnings) logger.warn(w);
    for (const n of settings.notes) logger[n.level](n.msg, n.fields);
    logger.info('starting a member', configFields(config));
    const member = await startMember(config, logger).catch((err: unknown) => {
      logger.error(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    });
    const log = member.node.log;
    const dashboard = dashboardFlags
      ? await startServeDashboard(dashboardFlags, config, member.clientAddresses).catch(
          async (err: unknown) => {
            log.error(`cannot start the dashboard: ${err instanceof Error ? err.message : String(err)}`);
            await member.stop();
            throw err;
          },
        )
      : undefined;
    const shutdown = (signal: string) => {
      log.info(`${signal}: shutting down`);
      Promise.all([dashboard?.close(), member.stop()]).then(
        () => process.exit(0),
        (err: unknown) => {
          log.error(`shutdown failed: ${String(err)}`);
          process.exit(1);
        },
      );
    };
    member.removed.then(() => shutdown('removed from the cluster'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    const extra = member.metricsAddresses.length ? ` (http: ${member.metricsAddresses.join(',')})` : '';
    const ready = `ready to serve client requests on ${member.clientAddresses.join(',')}${extra}`;
    log.info(ready, { addresses: member.clientAddresses.join(',') });
    process.stdout.write(`concord: ${ready}\n`);
    if (dashboard) {
      const mode = dashboardFlags?.writable ? '' : ' (read-only)';
      log.info(`serving the dashboard on ${dashboard.url}${mode}`);
      process.stdout.write(`concord: dashboard on ${dashboard.url}${mode}\n`);
    }
  });
}

/**
 * The files the member reads at start (TLS certificates and keys, JWT keys), loaded once here so
 * that a bad one is named before the data dir and the ports are looked at (the member loads them
 * again itself).
 */
async function checkFiles(config: ServeConfig): Promise<void> {
  loadMemberTls(config);
  const t = config.authToken;
  if (t.type === 'jwt')
    await JwtTokens.load({
      pubKey: t.options['pub-key']!,
      privKey: t.options['priv-key'],
      signMethod: t.options['sign-method']!,
      ttlMs: t.options.ttl ? parseDuration('auth-token ttl', t.options.ttl) : DEFAULT_JWT_TTL_MS,
    });
}

/** What etcd logs when it starts ("starting an etcd server"): no secret is among these. */
function configFields(c: ServeConfig): Record<string, unknown> {
  return {
    'data-dir': c.dataDir,
    'listen-client-urls': c.listenClientUrls,
    'advertise-client-urls': c.advertiseClientUrls,
    'listen-peer-urls': c.listenPeerUrls,
    'initial-advertise-peer-urls': c.initialAdvertisePeerUrls,
    'initial-cluster': c.initialCluster.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    'initial-cluster-state': c.initialClusterState,
    'snapshot-count': c.snapshotCount,
    'heartbeat-interval': `${c.heartbeatIntervalMs}ms`,
    'election-timeout': `${c.electionTimeoutMs}ms`,
    'quota-backend-bytes': c.quotaBackendBytes,
    'max-request-bytes': c.maxRequestBytes,
    'max-txn-ops': c.maxTxnOps,
    'auth-token': c.authToken.type,
    'client-tls': c.clientTls !== undefined,
    'peer-tls': c.peerTls !== undefined,
    cors: c.cors,
  };
}
