import https from 'node:https';
import { Client, PermissionDeniedError } from '../../src/index.js';
import { CONCORD_BIN } from '../cluster/concord-bin.js';
import { type EtcdCluster, startEtcd } from '../harness/etcd.js';
import { certsForFile, clientTls, tlsSetup } from './certs.js';

const certs = certsForFile();
const clusters: EtcdCluster[] = [];
const clients: Client[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(clusters.map((c) => c.close()));
});

async function run(target: 'etcd' | 'concord'): Promise<Record<string, unknown>> {
  const cluster = await startEtcd({
    members: 1,
    name: `certauth-${target}`,
    ...(target === 'concord' ? { bin: CONCORD_BIN } : {}),
    tls: tlsSetup(certs()),
  });
  clusters.push(cluster);
  const ctl = async (...args: string[]) => {
    const r = await cluster.etcdctl(args);
    return r.code === 0 ? r.stdout.trim() : `ERR ${r.stderr.trim().split('\n').pop()}`;
  };
  const setup = [
    await ctl('user', 'add', 'root:rootpw'),
    await ctl('user', 'grant-role', 'root', 'root'),
    await ctl('user', 'add', 'client:clientpw'),
    await ctl('role', 'add', 'app'),
    await ctl('role', 'grant-permission', 'app', 'readwrite', 'app/', '--prefix=true'),
    await ctl('user', 'grant-role', 'client', 'app'),
    await ctl('auth', 'enable'),
  ];
  const out: Record<string, unknown> = { setup };
  out.ctlAllowed = await ctl('put', 'app/a', '1');
  out.ctlDenied = await ctl('put', 'other', '1');
  out.ctlGet = await ctl('get', 'app/a', '--print-value-only');
  const sdk = new Client({
    endpoints: [cluster.members[0]!.clientUrl],
    tls: clientTls(certs()),
  });
  clients.push(sdk);
  out.sdkAllowed = (await sdk.put('app/b', '2')).header.revision > 0n;
  out.sdkDenied = await sdk.put('other', '2').then(
    () => 'allowed',
    (e: unknown) => (e instanceof PermissionDeniedError ? 'permission denied' : String(e)),
  );
  // Naming a user through Concord's internal metadata key does not work: only the certificate does.
  const forger = new Client({
    endpoints: [cluster.members[0]!.clientUrl],
    tls: clientTls(certs()),
    metadata: { 'x-concord-cert-cn': 'root' },
  });
  clients.push(forger);
  out.forged = await forger.put('other', '3').then(
    () => 'allowed',
    (e: unknown) => (e instanceof PermissionDeniedError ? 'permission denied' : String(e)),
  );
  return out;
}

function gateway(url: string, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${url}${path}`,
      {
        method: 'POST',
        agent: false,
        ...clientTls(certs()),
      },
      (res) => {
        let b = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          b += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('the client certificate names the user when no token is sent, on etcd and Concord alike', async () => {
  const etcd = await run('etcd');
  const concord = await run('concord');
  expect(etcd.ctlAllowed).toBe('OK');
  expect(etcd.ctlDenied).toMatch(/permission denied/);
  expect(etcd.sdkDenied).toBe('permission denied');
  expect(concord).toEqual(etcd);
  // The JSON gateway over https reads the same certificate.
  const url = clusters[1]!.members[0]!.clientUrl;
  const put = (key: string) =>
    gateway(url, '/v3/kv/put', { key: Buffer.from(key).toString('base64'), value: 'eA==' });
  expect((await put('app/gw')).status).toBe(200);
  const denied = await put('other');
  expect(denied.status).toBe(403);
  expect(JSON.parse(denied.body)).toMatchObject({ message: 'etcdserver: permission denied' });
}, 120_000);

test('without client-cert-auth, a client sending the internal CN metadata key is not that user', async () => {
  const outcomes: string[] = [];
  for (const target of ['etcd', 'concord'] as const) {
    const cluster = await startEtcd({
      members: 1,
      name: `forge-${target}`,
      ...(target === 'concord' ? { bin: CONCORD_BIN } : {}),
    });
    clusters.push(cluster);
    for (const args of [
      ['user', 'add', 'root:rootpw'],
      ['user', 'grant-role', 'root', 'root'],
      ['auth', 'enable'],
    ])
      expect((await cluster.etcdctl(args)).code).toBe(0);
    const forger = new Client({ endpoints: cluster.endpoints, metadata: { 'x-concord-cert-cn': 'root' } });
    clients.push(forger);
    outcomes.push(
      await forger.put('k', 'v').then(
        () => 'allowed',
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      ),
    );
  }
  expect(outcomes[0]).not.toBe('allowed');
  expect(outcomes[1]).toBe(outcomes[0]);
}, 120_000);
