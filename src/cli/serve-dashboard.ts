/**
 * `concord serve --dashboard host:port`: the web dashboard (`concord dashboard`) in the member's
 * own process, dialing the member's own client port. It sees the cluster as any client does (with
 * auth on, each viewer logs in as an etcd user), so it adds no way around auth.
 */
import { readFile } from 'node:fs/promises';
import { startDashboard } from '../dashboard/index.js';
import type { DashboardServer } from '../dashboard/server.js';
import { booleanFlag } from '../server/bootstrap/config/flag-values.js';
import { ConfigError, type ServeConfig } from '../server/index.js';
import { parseListen } from './dashboard.js';

export interface ServeDashboard {
  host: string;
  port: number;
  writable: boolean;
}

/** The dashboard flags, checked before the member starts; undefined without --dashboard. */
export function serveDashboardOf(values: Map<string, string>): ServeDashboard | undefined {
  const at = values.get('dashboard');
  const writes = values.get('dashboard-allow-writes');
  const writable = booleanFlag('dashboard-allow-writes', writes, false);
  if (at === undefined) {
    if (writable) throw new ConfigError('--dashboard-allow-writes needs --dashboard');
    return undefined;
  }
  try {
    return { ...parseListen(at), writable };
  } catch (err) {
    throw new ConfigError(`--dashboard: ${(err as Error).message}`);
  }
}

/**
 * Starts it on the member's first client address: a wildcard listen host is dialed on loopback;
 * an https:// port is verified with --trusted-ca-file, and under --client-cert-auth the member's
 * own certificate is presented (whose common name is then the identity of viewers who have not
 * logged in, as for any client with that certificate).
 */
export async function startServeDashboard(
  d: ServeDashboard,
  config: ServeConfig,
  clientAddresses: string[],
): Promise<DashboardServer> {
  const secure = config.listenClientUrls[0]?.startsWith('https:') ?? false;
  const endpoints = clientAddresses.map((a) => {
    const dial = a.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^(\[::\]|::):/, '[::1]:');
    return secure ? `https://${dial}` : dial;
  });
  const t = config.clientTls;
  const tls =
    secure && t
      ? {
          ca: t.trustedCaFile ? await readFile(t.trustedCaFile) : undefined,
          ...(t.clientCertAuth ? { cert: await readFile(t.certFile), key: await readFile(t.keyFile) } : {}),
        }
      : undefined;
  return startDashboard({ endpoints, tls, host: d.host, port: d.port, writable: d.writable });
}
