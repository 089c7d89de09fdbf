/**
 * Test harness that runs real etcd clusters (Debian's etcd 3.4 by default) on 127.0.0.1.
 *
 *   const cluster = await startEtcd({ members: 3 });
 *   try {
 *     const leader = await cluster.leaderIndex();
 *     await cluster.kill(leader);
 *     ...
 *   } finally {
 *     await cluster.close();
 *   }
 *
 * Cleanup layers, so that a crashed test never leaves etcd running:
 *   1. `cluster.close()` (SIGKILL, wait for exit, remove the temp dir);
 *   2. every spawned pid / temp dir is recorded in a registry, and a `process.on('exit')` hook on the *host*
 *      process kills/removes whatever is left (Jest gives each test file a fake `process` whose 'exit' event
 *      never fires, so the hook is attached to the real one);
 *   3. a tiny watchdog process reads the registry over a pipe and cleans up when that pipe closes, which also
 *      covers a Jest worker being SIGTERM'ed/SIGKILL'ed (no 'exit' event then). Disable with
 *      HARNESS_NO_WATCHDOG=1.
 *
 * Environment: ETCD_BIN / ETCDCTL_BIN override the binaries; HARNESS_VERBOSE=1 mirrors member logs to stderr.
 *
 * The parts, one job each: wait.ts (sleep, withTimeout, waitFor), ports.ts, process-registry.ts
 * (cleanup), etcd-member.ts (one process), etcd-cluster.ts, start-etcd.ts, etcdctl.ts.
 */
export type { EtcdCluster, RestartOptions } from './etcd-cluster.js';
export { ETCD_BIN, type EtcdMember } from './etcd-member.js';
export type { TlsSetup } from './etcd-tls.js';
export { ETCDCTL_BIN, type EtcdctlOptions, type EtcdctlResult, runEtcdctl } from './etcdctl.js';
export { freePort, freePortRun, freePorts } from './ports.js';
export { type StartEtcdOptions, startEtcd } from './start-etcd.js';
export { settlesWithin, sleep, type WaitForOptions, waitFor, withTimeout } from './wait.js';
