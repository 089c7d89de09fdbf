/**
 * The frame of a test file that runs against one etcd cluster: `etcdSuite()` starts the cluster
 * in beforeAll (and a client, on first use) and closes them in afterAll, and after every test
 * kills the child processes and closes the further clients the test started (and, with `heal`,
 * brings back the members it killed or paused).
 */
import path from 'node:path';
import { Client } from '../../src/index.js';
import { type ClientDefaults, testClients } from './clients.js';
import { type EtcdCluster, type StartEtcdOptions, startEtcd, withTimeout } from './etcd.js';
import { ensureBuilt, killAll, ROOT, type Spawned, spawnFixture, spawnTracked } from './fixtures.js';

export interface EtcdSuite {
  readonly cluster: EtcdCluster;
  /** A client on the cluster, for the whole file. */
  readonly client: Client;
  /**
   * A further client (on the cluster unless `endpoints` says otherwise, with the suite's client
   * options unless `options` says otherwise), closed after the test.
   */
  newClient(endpoints?: string[], options?: ClientDefaults): Client;
  /** Resumes the members a test paused, restarts those it killed, and waits until all are healthy. */
  heal(): Promise<void>;
  /** Runs `test/fixtures/<script>` with ENDPOINTS set to the cluster's. */
  fixture(script: string, env?: Record<string, string>): Spawned;
  /**
   * Runs `dist/examples/<name>.js` with ETCD_ENDPOINTS set to the cluster's. Resolves once it has
   * exited with code 0 (rejects, with its stderr, if it exits otherwise or not within `timeoutMs`),
   * with its stdout, that trimmed and split into lines, and its stderr.
   */
  example(name: string, timeoutMs?: number): Promise<{ lines: string[]; stdout: string; stderr: string }>;
}

export interface EtcdSuiteOptions extends StartEtcdOptions {
  /** Options of every client the suite makes (`client` and `newClient`), e.g. `timeoutMs`. */
  client?: ClientDefaults;
  /**
   * After every test, resume the members it paused, restart those it killed and wait until all
   * are healthy, so that each test starts on a whole cluster.
   */
  heal?: boolean;
}

export function etcdSuite({
  client: clientOptions = {},
  heal = false,
  ...opts
}: EtcdSuiteOptions): EtcdSuite {
  let cluster: EtcdCluster | undefined;
  let client: Client | undefined;
  const newClient = testClients(clientOptions);
  const started = (): EtcdCluster => {
    if (!cluster) throw new Error('etcdSuite: the cluster is not started (used outside a test?)');
    return cluster;
  };

  beforeAll(async () => {
    ensureBuilt();
    cluster = await startEtcd(opts);
    // Building dist/ when it is missing takes a while.
  }, 120_000);
  const healCluster = async (): Promise<void> => {
    const c = started();
    for (const m of c.members) {
      if (m.paused) await c.resume(m.index);
      if (!m.alive) await c.restart(m.index);
    }
    await c.waitHealthy();
  };
  afterEach(async () => {
    killAll();
    if (heal && cluster) await healCluster();
  });
  afterAll(async () => {
    client?.close();
    await cluster?.close();
  });

  return {
    get cluster() {
      return started();
    },
    get client() {
      client ??= new Client({ ...clientOptions, endpoints: started().endpoints });
      return client;
    },
    newClient(endpoints = started().endpoints, options = {}) {
      return newClient(endpoints, options);
    },
    heal: healCluster,
    fixture(script, env = {}) {
      return spawnFixture(script, { ENDPOINTS: started().endpoints.join(','), ...env });
    },
    async example(name, timeoutMs = 20_000) {
      const p = spawnTracked(process.execPath, [path.join(ROOT, 'dist/examples', `${name}.js`)], {
        ETCD_ENDPOINTS: started().endpoints.join(','),
      });
      const code = await withTimeout(p.exited, timeoutMs, `examples/${name} to exit`);
      if (code !== 0) throw new Error(`examples/${name} exited with code ${code}: ${p.stderr()}`);
      return { lines: p.stdout().trim().split('\n'), stdout: p.stdout(), stderr: p.stderr() };
    },
  };
}
