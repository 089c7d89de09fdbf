/**
 * `concord dev --members 3`: a local cluster in one command, for development. Every member runs
 * in this one process (each with its own data dir, WAL, ports and Raft core, talking to the
 * others over loopback gRPC exactly as separate processes would), so one Ctrl-C stops them all.
 *
 *   concord dev [--members 3] [--data-dir ./concord.dev] [--base-port 2379]
 *
 * Member i listens for clients on base-port + 2i and for peers on base-port + 2i + 1 (with the
 * default, the first member is where etcd's defaults put it: 2379/2380).
 */
import path from 'node:path';
import { Command } from 'commander';
import { type Member, resolveConfig, startMember } from '../server/index.js';

export function devCommand(): Command {
  return new Command('dev')
    .description('run a local cluster of several members in one process (development only)')
    .option('--members <n>', 'how many members (1 to 7)', '3')
    .option('--data-dir <dir>', "parent of the members' data dirs", './concord.dev')
    .option(
      '--base-port <port>',
      'first client port; member i uses base+2i (client) and base+2i+1 (peer)',
      '2379',
    )
    .action(async (o: { members: string; dataDir: string; basePort: string }) => {
      const n = Number(o.members);
      const base = Number(o.basePort);
      if (!Number.isInteger(n) || n < 1 || n > 7)
        throw new Error(`--members: expected 1 to 7, got ${JSON.stringify(o.members)}`);
      if (!Number.isInteger(base) || base < 1 || base + 2 * n > 65535)
        throw new Error(`--base-port: expected a port, got ${JSON.stringify(o.basePort)}`);
      const names = Array.from({ length: n }, (_, i) => `dev-${i}`);
      const peer = (i: number) => `http://127.0.0.1:${base + 2 * i + 1}`;
      const client = (i: number) => `http://127.0.0.1:${base + 2 * i}`;
      const initialCluster = names.map((name, i) => `${name}=${peer(i)}`).join(',');
      const members: Member[] = [];
      const stopAll = async () => {
        await Promise.allSettled(members.map((m) => m.stop()));
      };
      try {
        // Started together: each member's first election needs the others listening.
        const started = await Promise.all(
          names.map((name, i) =>
            startMember(
              resolveConfig({
                name,
                dataDir: path.join(o.dataDir, name),
                listenClientUrls: client(i),
                listenPeerUrls: peer(i),
                initialCluster,
                initialClusterToken: 'concord-dev',
              }),
              (msg) => process.stderr.write(`[${name}] ${msg}\n`),
            ),
          ),
        );
        members.push(...started);
      } catch (err) {
        await stopAll();
        throw err;
      }
      const shutdown = (signal: string) => {
        process.stderr.write(`concord: ${signal}: shutting down ${n} members\n`);
        stopAll().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      const endpoints = members.flatMap((m) => m.clientAddresses).join(',');
      process.stdout.write(`concord: dev cluster of ${n} ready to serve client requests on ${endpoints}\n`);
      process.stdout.write(
        `concord: try  ETCDCTL_API=3 etcdctl --endpoints=${endpoints} endpoint status -w table\n`,
      );
    });
}
