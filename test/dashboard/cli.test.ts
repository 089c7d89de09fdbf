/**
 * `concord dashboard` refuses bad options with a message, before connecting to anything; `concord
 * serve --dashboard` serves the same dashboard of its own cluster.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '../../src/index.js';
import { type Concord, MAIN, startConcord } from '../harness/concord.js';
import { waitFor } from '../harness/etcd.js';
import { freePort, freePorts } from '../harness/ports.js';
import { clientTls, makeCerts } from '../tls/certs.js';

const run = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, 'dashboard', ...args], { encoding: 'utf8', timeout: 30_000 });

test('a --listen that is not host:port is refused', () => {
  const r = run('--listen', 'everywhere');
  expect(r.status).toBe(1);
  expect(r.stderr).toBe('concord: expected host:port, got "everywhere"\n');
});

test('--user without a password is refused', () => {
  const r = run('--user', 'alice', '--endpoints', '127.0.0.1:1');
  expect(r.status).toBe(1);
  expect(r.stderr).toBe('concord: --user without a password: give name:password or --password\n');
});

test('--help lists the options', () => {
  const r = run('--help');
  expect(r.status).toBe(0);
  for (const o of ['--endpoints', '--listen', '--allow-writes', '--cacert', '--user', '--prefix'])
    expect(r.stdout).toContain(o);
});

describe('concord serve --dashboard', () => {
  const servers: Concord[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  /** DELETE /api/leases/<hex id>, as the dashboard's own page sends it. */
  const revoke = (url: string, id: bigint) =>
    fetch(`${url}api/leases/${id.toString(16)}`, {
      method: 'DELETE',
      headers: { origin: new URL(url).origin, 'content-type': 'application/json' },
    });

  /** The keys of one level of the Keys view (GET /api/keys, first page). */
  async function levelKeys(url: string, prefix: string): Promise<{ key: string }[]> {
    const res = await fetch(`${url}api/keys?${new URLSearchParams({ prefix })}`);
    return ((await res.json()) as { keys: { key: string }[] }).keys;
  }

  /** The dashboard's URL, from the line serve prints once both are up. */
  async function dashboardUrl(s: Concord): Promise<string> {
    let url = '';
    await waitFor(
      () => {
        const m = s.proc.lines.map((l) => /^concord: dashboard on (\S+)/.exec(l)).find(Boolean);
        url = m?.[1] ?? '';
        return url !== '';
      },
      { timeoutMs: 20_000, what: 'the dashboard line' },
    );
    return url;
  }

  test("serves the member's own cluster, live and read-only", async () => {
    const s = await startConcord({ args: ['--dashboard', '127.0.0.1:0'] });
    servers.push(s);
    const url = await dashboardUrl(s);
    expect(s.proc.lines.some((l) => l.endsWith('(read-only)'))).toBe(true);
    const c = new Client({ endpoints: [s.endpoint] });
    try {
      const put = await c.put('app/config', 'v1');
      let state: { revision: string; cluster?: { members: unknown[] } } = { revision: '0' };
      await waitFor(
        async () => {
          state = (await (await fetch(`${url}api/state`)).json()) as typeof state;
          return BigInt(state.revision) >= put.header.revision && state.cluster !== undefined;
        },
        { timeoutMs: 15_000, what: 'the dashboard to show the put' },
      );
      expect((await levelKeys(url, 'app/')).map((k) => k.key)).toEqual(['app/config']);
      expect(state.cluster?.members).toHaveLength(1);
      // Read-only: revoking a lease is refused, and the lease lives on.
      const lease = await c.lease({ ttl: 60 });
      const res = await revoke(url, lease.id);
      expect(res.status).toBe(403);
      expect((await c.leaseTimeToLive(lease.id)).ttl).toBeGreaterThan(0);
    } finally {
      c.close();
    }
  }, 60_000);

  test('with --dashboard-allow-writes it revokes a lease', async () => {
    const s = await startConcord({ args: ['--dashboard', '127.0.0.1:0', '--dashboard-allow-writes'] });
    servers.push(s);
    const url = await dashboardUrl(s);
    const c = new Client({ endpoints: [s.endpoint] });
    try {
      const lease = await c.lease({ ttl: 60, keepAlive: false });
      expect((await revoke(url, lease.id)).status).toBe(200);
      expect((await c.leaseTimeToLive(lease.id)).ttl).toBe(-1);
    } finally {
      c.close();
    }
  }, 60_000);

  test('on an https:// client port with --client-cert-auth it dials with the member certificate', async () => {
    const certs = makeCerts();
    try {
      const port = await freePort();
      const s = await startConcord({
        args: [
          '--listen-client-urls',
          `https://127.0.0.1:${port}`,
          '--advertise-client-urls',
          `https://127.0.0.1:${port}`,
          '--cert-file',
          certs.member.certFile,
          '--key-file',
          certs.member.keyFile,
          '--trusted-ca-file',
          certs.caFile,
          '--client-cert-auth',
          '--dashboard',
          '127.0.0.1:0',
        ],
      });
      servers.push(s);
      const url = await dashboardUrl(s);
      const c = new Client({ endpoints: [`https://127.0.0.1:${port}`], tls: clientTls(certs) });
      try {
        await c.put('tls/key', 'v');
        await waitFor(
          async () => {
            const keys = await levelKeys(url, 'tls/');
            return keys.some((k) => k.key === 'tls/key');
          },
          { timeoutMs: 15_000, what: 'the dashboard to show the put over TLS' },
        );
      } finally {
        c.close();
      }
    } finally {
      certs.remove();
    }
  }, 60_000);

  test('a bad --dashboard address, or writes without a dashboard, is refused before starting', () => {
    const serve = (...args: string[]) =>
      spawnSync(process.execPath, [MAIN, 'serve', '--data-dir', '/nonexistent/never-made', ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });
    const bad = serve('--dashboard', 'everywhere');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--dashboard: expected host:port, got "everywhere"');
    const writes = serve('--dashboard-allow-writes');
    expect(writes.status).toBe(1);
    expect(writes.stderr).toContain('--dashboard-allow-writes needs --dashboard');
  });

  test('a dashboard port already taken stops the member with the reason, exit 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'concord-dash-'));
    try {
      const [client, peer] = await freePorts(2);
      const { port } = taken.address() as net.AddressInfo;
      const r = spawnSync(
        process.execPath,
        [
          MAIN,
          'serve',
          '--data-dir',
          path.join(dir, 'data'),
          '--listen-client-urls',
          `http://127.0.0.1:${client}`,
          '--listen-peer-urls',
          `http://127.0.0.1:${peer}`,
          '--dashboard',
          `127.0.0.1:${port}`,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/EADDRINUSE/);
      expect(r.stdout).not.toMatch(/dashboard on/);
    } finally {
      taken.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
