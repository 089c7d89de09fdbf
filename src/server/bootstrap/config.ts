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
export * from './config/serve-config.js';
export { checkStartable } from './config/startable.js';
