/**
 * `concord serve` refuses to start with TLS files it cannot use, with a ConfigError naming the
 * flag and the file, before it touches its data dir, and without printing key material; https://
 * URLs without files are refused with etcd's own messages; an http:// URL beside TLS files is
 * served in the clear with etcd's warning (etcd 3.4 does the same).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '../../src/index.js';
import { MAIN, startConcord } from '../harness/concord.js';
import { freePort, withTimeout } from '../harness/etcd.js';
import { killAll, spawnTracked } from '../harness/fixtures.js';
import { certsForFile } from './certs.js';

const certs = certsForFile();
let garbage: string;

beforeAll(() => {
  garbage = path.join(certs().dir, 'garbage.pem');
  writeFileSync(garbage, 'not a PEM file\n');
});
afterEach(() => killAll());

/** Runs `concord serve` with TLS flags that must stop it; returns its stderr. */
async function refused(args: string[]): Promise<string> {
  const dataDir = path.join(certs().dir, `data-${Math.random().toString(36).slice(2)}`);
  const proc = spawnTracked(process.execPath, [
    MAIN,
    'serve',
    '--data-dir',
    dataDir,
    '--listen-peer-urls',
    `http://127.0.0.1:${await freePort()}`,
    ...args,
  ]);
  const code = await withTimeout(proc.exited, 30_000, 'concord serve to refuse');
  expect(code).toBe(1);
  expect(existsSync(dataDir)).toBe(false);
  const stderr = proc.stderr();
  // No line of any private key's PEM body reaches the output.
  for (const key of [certs().member.keyFile, certs().client.keyFile, certs().rogue.keyFile])
    for (const line of readFileSync(key, 'utf8').split('\n'))
      if (line.length > 20 && !line.startsWith('-----')) expect(stderr).not.toContain(line);
  return stderr;
}

const https = async () => ['--listen-client-urls', `https://127.0.0.1:${await freePort()}`];

test.each([
  [
    'a missing certificate file',
    () => ['--cert-file', path.join(certs().dir, 'nope.crt'), '--key-file', certs().member.keyFile],
    /--cert-file: cannot read ".*nope\.crt": ENOENT: no such file or directory/,
  ],
  [
    'a key path that is a directory',
    () => ['--cert-file', certs().member.certFile, '--key-file', certs().dir],
    /--key-file: cannot read ".*concord-tls-[^"]+": EISDIR/,
  ],
  [
    'a certificate file that is not PEM',
    () => ['--cert-file', garbage, '--key-file', certs().member.keyFile],
    /--cert-file: ".*garbage\.pem" holds no PEM certificate/,
  ],
  [
    'a key file that is not PEM',
    () => ['--cert-file', certs().member.certFile, '--key-file', garbage],
    /--key-file: ".*garbage\.pem" holds no usable PEM private key/,
  ],
  [
    'a key that does not match the certificate',
    () => ['--cert-file', certs().member.certFile, '--key-file', certs().client.keyFile],
    /--key-file: the private key in ".*client\.key" does not match the certificate in ".*member\.crt"/,
  ],
  [
    'a trusted CA file that is not PEM',
    () => [
      '--cert-file',
      certs().member.certFile,
      '--key-file',
      certs().member.keyFile,
      '--trusted-ca-file',
      garbage,
    ],
    /--trusted-ca-file: ".*garbage\.pem" holds no PEM certificate/,
  ],
  [
    'a certificate without its key',
    () => ['--cert-file', certs().member.certFile],
    /--cert-file and --key-file must be given together/,
  ],
])('the client port refuses %s', async (_what, flags, message) => {
  expect(await refused([...(await https()), ...flags()])).toMatch(message);
});

test('the peer port refuses a key that does not match its certificate, naming the --peer-* flag', async () => {
  const peer = `https://127.0.0.1:${await freePort()}`;
  const stderr = await refused([
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--peer-cert-file',
    certs().member.certFile,
    '--peer-key-file',
    certs().rogue.keyFile,
  ]);
  expect(stderr).toMatch(
    /--peer-key-file: the private key in ".*rogue\.key" does not match the certificate in ".*member\.crt"/,
  );
});

test('https:// URLs without certificate files are refused with etcd’s messages', async () => {
  const client = await https();
  expect(await refused(client)).toContain(
    `TLS key/cert (--cert-file, --key-file) must be provided for client url ${client[1]} with HTTPS scheme`,
  );
  const peerPort = await freePort();
  const peer = `https://127.0.0.1:${peerPort}`;
  expect(await refused(['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer])).toContain(
    `cannot listen on TLS for 127.0.0.1:${peerPort}: KeyFile and CertFile are not presented`,
  );
});

test('an http:// URL beside TLS files is served in the clear, with etcd’s warning', async () => {
  const c = await startConcord({
    args: [
      '--cert-file',
      certs().member.certFile,
      '--key-file',
      certs().member.keyFile,
      '--trusted-ca-file',
      certs().caFile,
      '--client-cert-auth',
    ],
  });
  const client = new Client({ endpoints: [c.endpoint] });
  try {
    await client.put('plain', 'yes');
    expect(await client.getString('plain')).toBe('yes');
    expect(c.proc.stderr()).toContain(
      'scheme is HTTP while key and cert files are present; ignoring key and cert files',
    );
    expect(c.proc.stderr()).toContain(
      'scheme is HTTP while --client-cert-auth is enabled; ignoring client cert auth for this URL',
    );
  } finally {
    client.close();
    await c.close();
  }
});
