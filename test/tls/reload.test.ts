/**
 * Certificate reload without restart: a member's certificate files are replaced while it runs
 * (here by one from another CA, so the change is unmistakable). New connections to the client
 * port and the peer port get the new certificate; a replacement that does not load (a key of
 * another certificate) is logged and ignored, and the member keeps serving with what it had.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Client } from '../../src/index.js';
import { ensureServerBuilt, MAIN } from '../harness/concord.js';
import { freePort, waitFor, withTimeout } from '../harness/etcd.js';
import { killAll, spawnTracked } from '../harness/fixtures.js';
import { makeCerts, type TestCerts } from './certs.js';

let certs: TestCerts;
let dir: string;
const clients: Client[] = [];

beforeAll(() => {
  ensureServerBuilt();
  certs = makeCerts();
  dir = mkdtempSync(path.join(os.tmpdir(), 'concord-tls-reload-'));
}, 60_000);
afterAll(() => {
  for (const c of clients) c.close();
  killAll();
  rmSync(dir, { recursive: true, force: true });
  certs?.remove();
});

/** The SHA-256 fingerprint of the certificate a TLS port presents to a new connection. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    s.once('secureConnect', () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.once('error', reject);
  });
}

const certFingerprint = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

test('a renewed certificate is served to new connections on both ports, without a restart', async () => {
  const certFile = path.join(dir, 'live.crt');
  const keyFile = path.join(dir, 'live.key');
  copyFileSync(certs.member.certFile, certFile);
  copyFileSync(certs.member.keyFile, keyFile);
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const peerUrl = `https://127.0.0.1:${peerPort}`;
  const proc = spawnTracked(process.execPath, [
    MAIN,
    'serve',
    '--data-dir',
    path.join(dir, 'data'),
    '--listen-client-urls',
    `https://127.0.0.1:${clientPort}`,
    '--listen-peer-urls',
    peerUrl,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--cert-file',
    certFile,
    '--key-file',
    keyFile,
    '--peer-cert-file',
    certFile,
    '--peer-key-file',
    keyFile,
  ]);
  await waitFor(() => proc.lines.some((l) => l.includes('ready to serve client requests')), {
    timeoutMs: 30_000,
    what: () => `concord serve to be ready (stderr: ${proc.stderr()})`,
  });
  const endpoint = `https://127.0.0.1:${clientPort}`;
  const trusting = (caFile: string) => {
    const c = new Client({ endpoints: [endpoint], tls: { ca: readFileSync(caFile) }, timeoutMs: 5_000 });
    clients.push(c);
    return c;
  };
  await trusting(certs.caFile).put('k', 'before');
  expect(await presented(peerPort)).toBe(certFingerprint(certs.member.certFile));

  // A replacement that does not load: the key of another certificate. Ignored, and said so.
  copyFileSync(certs.client.keyFile, keyFile);
  await waitFor(() => proc.stderr().includes('keeping the current client TLS certificate'), {
    timeoutMs: 30_000,
    what: 'the bad replacement to be noticed',
  });
  expect(await trusting(certs.caFile).getString('k')).toBe('before');

  // The renewal: a certificate from the other CA, with its key.
  copyFileSync(certs.rogue.certFile, certFile);
  copyFileSync(certs.rogue.keyFile, keyFile);
  const renewed = certFingerprint(certs.rogue.certFile);
  await waitFor(async () => (await presented(clientPort)) === renewed, {
    timeoutMs: 30_000,
    what: 'the client port to present the renewed certificate',
  });
  await waitFor(async () => (await presented(peerPort)) === renewed, {
    timeoutMs: 30_000,
    what: 'the peer port to present the renewed certificate',
  });
  expect(proc.stderr()).toContain('reloaded the client TLS certificate');
  expect(proc.stderr()).toContain('reloaded the peer TLS certificate');
  // Clients trusting only the new CA are served; the process never restarted.
  expect(await trusting(certs.otherCaFile).getString('k')).toBe('before');
  await expect(trusting(certs.caFile).getString('k', { timeoutMs: 3_000 })).rejects.toThrow();
  expect(proc.child.exitCode).toBeNull();
  proc.child.kill('SIGTERM');
  expect(await withTimeout(proc.exited, 15_000, 'concord serve to stop')).toBe(0);
}, 120_000);
