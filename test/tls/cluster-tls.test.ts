/**
 * A 3-member Concord cluster with TLS on the client port (--client-cert-auth) and mutual TLS on
 * the peer port (--peer-client-cert-auth), started through the etcd harness with etcd's flags:
 * the SDK works over https with a client certificate (writes and lease calls through followers,
 * which reach the leader over the peer port; a member removal forwarded to the leader's client
 * port); a plain client, a client without a certificate and a member whose certificate comes
 * from another CA are all refused, and the cluster keeps working.
 */

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Client } from '../../src/index.js';
import { CONCORD_BIN } from '../cluster/concord-bin.js';
import { ensureServerBuilt, MAIN } from '../harness/concord.js';
import { type EtcdCluster, freePort, runEtcdctl, startEtcd, waitFor, withTimeout } from '../harness/etcd.js';
import { killAll, spawnTracked } from '../harness/fixtures.js';
import { clientTls, makeCerts, type TestCerts, tlsSetup } from './certs.js';

let certs: TestCerts;
let cluster: EtcdCluster;
let dir: string;
const clients: Client[] = [];

const withCert = () => clientTls(certs);
function client(endpoints: string[], opts: Partial<ConstructorParameters<typeof Client>[0]> = {}) {
  const c = new Client({ endpoints, timeoutMs: 15_000, ...opts });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  ensureServerBuilt();
  certs = makeCerts();
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-tls-cluster-'));
  cluster = await startEtcd({
    members: 3,
    name: 'tls',
    bin: CONCORD_BIN,
    startTimeoutMs: 40_000,
    tls: tlsSetup(certs, { peer: true }),
  });
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  killAll();
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  certs?.remove();
});

test('members advertise https URLs on both ports', async () => {
  const list = await client([cluster.members[0]!.clientUrl], { tls: withCert() }).cluster.members();
  expect(list.members).toHaveLength(3);
  for (const m of list.members) {
    expect(m.peerURLs.every((u) => u.startsWith('https://127.0.0.1:'))).toBe(true);
    expect(m.clientURLs.every((u) => u.startsWith('https://127.0.0.1:'))).toBe(true);
  }
});

test('the SDK reads and writes over https on every member; followers reach the leader over mTLS', async () => {
  const leader = await cluster.leaderIndex({ timeoutMs: 30_000 });
  for (const [i, m] of cluster.members.entries()) {
    const c = client([m.clientUrl], { tls: withCert() });
    await c.put(`tls/k${i}`, `v${i}`);
    // A lease: granted through Raft, its TimeToLive answered by the leader (forwarded over the
    // peer port when asked at a follower).
    const lease = await c.lease({ ttl: 30, keepAlive: false });
    try {
      const ttl = await c.leaseTimeToLive(lease.id);
      expect(ttl.ttl).toBeGreaterThan(0);
      if (i !== leader) expect(await c.getString(`tls/k${i}`)).toBe(`v${i}`);
    } finally {
      await lease.revoke();
    }
  }
  const all = client(
    cluster.members.map((m) => m.clientUrl),
    { tls: withCert() },
  );
  expect(await all.getString('tls/k0')).toBe('v0');
  expect(await all.getString('tls/k2')).toBe('v2');
});

test('a plain-text client is refused on the TLS port', async () => {
  const m = cluster.members[0]!;
  const plain = client([`http://${m.endpoint}`], { timeoutMs: 3_000, maxAttempts: 1 });
  await expect(plain.getString('tls/k0')).rejects.toThrow();
  // HTTP/1 in the clear: the TLS server drops the connection, no HTTP answer.
  await expect(
    withTimeout(
      new Promise((resolve, reject) => {
        const req = http.get(`http://${m.endpoint}/health`, { agent: false }, resolve);
        req.on('error', reject);
      }),
      15_000,
      'plain /health',
    ),
  ).rejects.toThrow(/socket hang up|ECONNRESET/);
});

test('under --client-cert-auth a client without a certificate is refused; with one it is served', async () => {
  const m = cluster.members[0]!;
  const noCert = client([m.clientUrl], {
    tls: { ca: readFileSync(certs.caFile) },
    timeoutMs: 3_000,
    maxAttempts: 1,
  });
  await expect(noCert.getString('tls/k0')).rejects.toThrow();
  // A certificate from another CA is refused too.
  const foreign = client([m.clientUrl], {
    tls: {
      ca: readFileSync(certs.caFile),
      cert: readFileSync(certs.rogue.certFile),
      key: readFileSync(certs.rogue.keyFile),
    },
    timeoutMs: 3_000,
    maxAttempts: 1,
  });
  await expect(foreign.getString('tls/k0')).rejects.toThrow();
  const r = await cluster.etcdctl(['get', 'tls/k0', '--print-value-only'], {
    endpoints: [m.endpoint],
  });
  expect(r.stdout.trim()).toBe('v0');
  // etcdctl with the CA but without --cert/--key: the same refusal.
  const bare = await runEtcdctl([
    `--endpoints=${m.endpoint}`,
    `--cacert=${certs.caFile}`,
    '--dial-timeout=2s',
    '--command-timeout=3s',
    'get',
    'tls/k0',
  ]);
  expect(bare.code).toBe(1);
  expect(bare.stderr).toMatch(/context deadline exceeded/);
});

/** Whether a TLS handshake with the peer port, presenting `pair`, is accepted and kept. */
function peerHandshake(port: number, pair: { certFile: string; keyFile: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(certs.caFile),
      cert: readFileSync(pair.certFile),
      key: readFileSync(pair.keyFile),
      ALPNProtocols: ['h2'],
    });
    // TLS 1.3: the server judges the client certificate after the client's handshake is done;
    // a refusal arrives as an alert right after. A connection still open a moment later was kept.
    let kept: NodeJS.Timeout | undefined;
    const done = (ok: boolean) => {
      clearTimeout(kept);
      s.destroy();
      resolve(ok);
    };
    s.once('secureConnect', () => {
      kept = setTimeout(() => done(true), 1_000);
    });
    s.once('error', () => done(false));
    s.once('close', () => done(false));
  });
}

test('a member with a certificate from another CA cannot join; the cluster keeps working', async () => {
  const peerPort = Number(new URL(cluster.members[0]!.peerUrl).port);
  expect(await peerHandshake(peerPort, certs.member)).toBe(true);
  expect(await peerHandshake(peerPort, certs.rogue)).toBe(false);

  // The cluster expects it (as a learner, so its absence costs no quorum).
  const roguePeer = `https://127.0.0.1:${await freePort()}`;
  const add = await cluster.etcdctl(['member', 'add', 'rogue', '--learner', `--peer-urls=${roguePeer}`]);
  expect(add.code).toBe(0);
  const initial = [...cluster.members.map((m) => `${m.name}=${m.peerUrl}`), `rogue=${roguePeer}`].join(',');
  // It trusts the cluster's CA, but its own certificate is signed by another one.
  const rogue = spawnTracked(process.execPath, [
    MAIN,
    'serve',
    '--name',
    'rogue',
    '--data-dir',
    path.join(dir, 'rogue'),
    '--listen-client-urls',
    `http://127.0.0.1:${await freePort()}`,
    '--listen-peer-urls',
    roguePeer,
    '--initial-advertise-peer-urls',
    roguePeer,
    '--initial-cluster',
    initial,
    '--initial-cluster-state',
    'existing',
    '--peer-cert-file',
    certs.rogue.certFile,
    '--peer-key-file',
    certs.rogue.keyFile,
    '--peer-trusted-ca-file',
    certs.caFile,
    '--peer-client-cert-auth',
  ]);
  const code = await withTimeout(rogue.exited, 60_000, 'the rogue member to give up');
  expect(code).toBe(1);
  expect(rogue.stderr()).toMatch(/no peer answered with the cluster's membership/);

  const c = client(
    cluster.members.map((m) => m.clientUrl),
    { tls: withCert() },
  );
  await c.put('tls/after-rogue', 'still-here');
  expect(await c.getString('tls/after-rogue')).toBe('still-here');
  const list = await c.cluster.members();
  const learner = list.members.find((m) => m.peerURLs.includes(roguePeer));
  expect(learner?.isLearner).toBe(true);
  // Unstarted: it never published a name or client URLs.
  expect(learner?.clientURLs).toEqual([]);
});

test('removing the leader at a follower is forwarded to the leader over the TLS client port', async () => {
  const leader = await cluster.leaderIndex({ timeoutMs: 30_000 });
  const follower = cluster.members.find((m) => m.index !== leader)!;
  const c = client([follower.clientUrl], { tls: withCert() });
  const before = await c.cluster.members();
  const leaderId = before.members.find((m) => m.name === cluster.members[leader]!.name)!.id;
  // The follower cannot remove the leader itself: the call succeeds only through the leader.
  await c.cluster.remove(leaderId);
  await waitFor(async () => !(await c.cluster.members()).members.some((m) => m.id === leaderId), {
    timeoutMs: 30_000,
    what: 'the removed leader to leave the member list',
  });
  await c.put('tls/after-remove', 'ok', { timeoutMs: 30_000 });
  expect(await c.getString('tls/after-remove')).toBe('ok');
});
