/**
 * A member's configuration: etcd's flags where they exist, their defaults, and validation with
 * messages that quote the bad value. Member and cluster IDs are derived as etcd derives them
 * (SHA-1 over the peer URLs and the cluster token; over the sorted member IDs), so a member
 * keeps its identity across restarts with the same flags.
 *
 * Its parts are in config/: the settings and their defaults (serve-config.ts), reading one flag's
 * value (flag-values.ts), the flags to a configuration (resolve.ts), the checks before a start
 * (startable.ts) and the IDs (ids.ts). This module is what the rest of the server imports.
 */

export { parseDuration, parseUrls } from './config/flag-values.js';
export { clusterIdOf, memberIdOf } from './config/ids.js';
export { hostPort, resolveConfig } from './config/resolve.js';
export {
  DEFAULT_AUTH_TOKEN_TTL_SEC,
  DEFAULT_BCRYPT_COST,
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
  GRPC_OVERHEAD_BYTES,
  MAX_BCRYPT_COST,
  MIN_BCRYPT_COST,
  type ServeConfig,
  type ServeFlags,
} from './config/serve-config.js';
export { checkStartable } from './config/startable.js';
