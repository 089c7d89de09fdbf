/**
 * The frame of a test file that runs against one etcd cluster: `etcdSuite()` starts the cluster
 * and a client in beforeAll and closes them in afterAll, and after every test kills the child
 * processes and closes the further clients the test started.
 */
import path from 'node:path';
import { Client } from '../../src/index.js';
import { type EtcdCluster, type StartEtcdOptions, startEtcd, withTimeout } from './etcd.js';
import { ensureBuilt, killAll, ROOT, type Spawned, spawnFixture, spawnTracked } from './fixtures.js';

export interface EtcdSuite {
  readonly cluster: EtcdCluster;
  /** A client on the cluster, for the whole file. */
  readonly client: Client;
  /** A further client (on the cluster unless `endpoints` says otherwise), closed after the test. */
  newClient(endpoints?: string[]): Client;
  /** Runs `test/fixtures/<script>` with ENDPOINTS set to the cluster's. */
  fixture(script: string, env?: Record<string, string>): Spawned;
  /**
   * Runs `dist/examples/<name>.js` with ETCD_ENDPOINTS set to the cluster's. Resolves once it has
   * exited with code 0 (rejects, with its stderr, if it exits otherwise or not within `timeoutMs`),
   * with its stdout, that trimmed and split into lines, and its stderr.
   */
  example(name: string, timeoutMs?: number): Promise<{ lines: string[]; stdout: string; stderr: string }>;
}

export function etcdSuite(opts: StartEtcdOptions): EtcdSuite {
  let cluster: EtcdCluster | undefined;
  let client: Client | undefined;
  const extraClients: Client[] = [];
  const started = (): EtcdCluster => {
    if (!cluster) throw new Error('etcdSuite: the cluster is not started (used outside a test?)');
    return cluster;
  };

  beforeAll(async () => {
    ensureBuilt();
    cluster = await startEtcd(opts);
    client = new Client({ endpoints: cluster.endpoints });
  });
  afterEach(() => {
    killAll();
    for (const c of extraClients.splice(0)) c.close();
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
      started();
      return client!;
    },
    newClient(endpoints = started().endpoints) {
      const c = new Client({ endpoints });
      extraClients.push(c);
      return c;
    },
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
