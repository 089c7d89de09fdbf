/**
 * `concord dashboard --endpoints … [--listen 127.0.0.1:8080] [--allow-writes]`: the web
 * dashboard (src/dashboard) for a Concord or etcd cluster. Loopback and read-only by default.
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { startDashboard } from '../dashboard/index.js';

interface DashboardFlags {
  endpoints: string;
  listen: string;
  allowWrites?: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  user?: string;
  password?: string;
  prefix?: string[];
  servicesPrefix: string;
  flagsPrefix: string;
}

/** `host:port` (an IPv6 host in brackets) for --listen. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`expected host:port, got ${JSON.stringify(v)}`);
  return { host: (m[1] ?? m[2])!, port };
}

/** etcdctl's --user: `name:password`, or `name` with --password. */
function credentials(o: DashboardFlags): { username: string; password: string } | undefined {
  if (!o.user) return undefined;
  const i = o.user.indexOf(':');
  if (i === -1) {
    if (o.password === undefined)
      throw new Error('--user without a password: give name:password or --password');
    return { username: o.user, password: o.password };
  }
  return { username: o.user.slice(0, i), password: o.user.slice(i + 1) };
}

export function dashboardCommand(): Command {
  return new Command('dashboard')
    .description(
      'serve a web dashboard of a Concord or etcd cluster: locks, elections, services, flags, leases, keys',
    )
    .option('--endpoints <endpoints>', 'comma-separated member URLs', '127.0.0.1:2379')
    .option('--listen <host:port>', 'where the dashboard listens (loopback by default)', '127.0.0.1:8080')
    .option('--allow-writes', 'allow editing flags and revoking leases from the dashboard')
    .option('--cacert <file>', 'CA bundle that verifies https:// members')
    .option('--cert <file>', 'client certificate, for members with --client-cert-auth')
    .option('--key <file>', 'private key of --cert')
    .option('--user <name[:password]>', 'etcd user everyone sees the cluster as (else each viewer logs in)')
    .option('--password <password>', 'password of --user')
    .option('--prefix <prefix...>', 'show only keys under these prefixes (default: every key)')
    .option('--services-prefix <prefix>', "the service registry's root", 'services/')
    .option('--flags-prefix <prefix>', 'where feature flags live', 'flags/')
    .action(async (o: DashboardFlags) => {
      const { host, port } = parseListen(o.listen);
      const [ca, cert, key] = await Promise.all([o.cacert, o.cert, o.key].map((f) => f && readFile(f)));
      const tls = ca || cert || key ? { ca, cert, key } : undefined;
      const dashboard = await startDashboard({
        endpoints: o.endpoints.split(',').map((e) => e.trim()),
        tls,
        auth: credentials(o),
        prefixes: o.prefix,
        host,
        port,
        writable: o.allowWrites ?? false,
        layout: { servicesRoot: o.servicesPrefix, flagsPrefix: o.flagsPrefix },
      });
      process.stdout.write(
        `concord dashboard: serving ${dashboard.url}${o.allowWrites ? '' : ' (read-only)'}\n`,
      );
      const stop = () => {
        void dashboard.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
