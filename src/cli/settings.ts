/**
 * The settings of one `serve` run, by etcd's rules of which source wins (see options.ts): the
 * config file alone when one is given, else the command line over the ETCD_* variables; and
 * where each value came from, so that a refusal names the variable or file line to fix.
 */
import type { Command } from 'commander';
import { ConfigError, type ServeFlags } from '../server/index.js';
import { readConfigFile } from './config-file.js';
import { ignoredFlagNotes } from './ignored-flags.js';
import { attrOf, envOf, KNOWN, textOf } from './known-flags.js';

/** A line to log once the logger exists: settings are read before it can be built. */
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

/**
 * The settings of one `serve` run, by etcd's rules (see options.ts): the command
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
  notes.push(...ignoredFlagNotes(values, sources));
  return { values, sources, notes };
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
