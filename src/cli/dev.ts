/**
 * `concord dev --members 3`: a local cluster in one command, for development. By default every
 * member runs in this one process (each with its own data dir, WAL, ports and Raft core, talking
 * to the others over loopback gRPC exactly as separate processes would), so one Ctrl-C stops
 * them all. `--processes` runs each member as its own `concord serve` process instead and prints
 * their PIDs, so one can be killed to watch the others fail over.
 *
 *   concord dev [--members 3] [--data-dir ./concord.dev] [--base-port 2379] [--processes]
 *               [--log-level info]
 *
 * Member i listens for clients on base-port + 2i and for peers on base-port + 2i + 1 (with the
 * default, the first member is where etcd's defaults put it: 2379/2380). Logs are the readable
 * (console) form, each line with its member's name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Client } from '../client/node-client.js';
import { setDefaultLogger } from '../log.js';
import { checkStartable, type Member, resolveConfig, startMember } from '../server/index.js';
import { createLogger } from './logging.js';

interface DevFlags {
  members: string;
  dataDir: string;
  basePort: string;
  processes?: boolean;
  logLevel: string;
}

/** How long --processes waits for each member's ready line. */
const START_TIMEOUT_MS = 60_000;

export function devCommand(): Command {
  return new Command('dev')
    .description('run a local cluster of several members (development only)')
    .option('--members <n>', 'how many members (1 to 7)', '3')
    .option('--data-dir <dir>', "parent of the members' data dirs", './concord.dev')
    .option(
      '--base-port <port>',
      'first client port; member i uses base+2i (client) and base+2i+1 (peer)',
      '2379',
    )
    .option(
      '--processes',
      'run each member as its own `concord serve` process (kill one to see a failover)',
      false,
    )
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (o: DevFlags) => {
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
      const flags = names.map((name, i) => ({
        name,
        dataDir: path.join(o.dataDir, name),
        listenClientUrls: client(i),
        listenPeerUrls: peer(i),
        initialCluster,
        initialClusterToken: 'concord-dev',
      }));
      // Refused before anything is written or started (a busy port names its flag).
      for (const f of flags) await checkStartable(resolveConfig(f));
      if (o.processes) await runProcesses(flags, o.logLevel);
      else await runInProcess(flags, o.logLevel);
    });
}

type MemberFlags = {
  name: string;
  dataDir: string;
  listenClientUrls: string;
  listenPeerUrls: string;
  initialCluster: string;
  initialClusterToken: string;
};

function ready(n: number, endpoints: string): void {
  process.stdout.write(`concord: dev cluster of ${n} ready to serve client requests on ${endpoints}\n`);
  process.stdout.write(
    `concord: try  ETCDCTL_API=3 etcdctl --endpoints=${endpoints} endpoint status -w table\n`,
  );
}

async function runInProcess(flags: MemberFlags[], level: string): Promise<void> {
  const { logger } = createLogger({ level, format: 'console' });
  setDefaultLogger(logger);
  const members: Member[] = [];
  const stopAll = async () => {
    await Promise.allSettled(members.map((m) => m.stop()));
  };
  try {
    // Started together: each member's first election needs the others listening.
    const started = await Promise.all(
      flags.map((f) => startMember(resolveConfig(f), logger.child({ name: f.name }))),
    );
    members.push(...started);
  } catch (err) {
    await stopAll();
    throw err;
  }
  const shutdown = (signal: string) => {
    logger.info(`${signal}: shutting down ${flags.length} members`);
    stopAll().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  ready(flags.length, members.flatMap((m) => m.clientAddresses).join(','));
}

/** `concord serve` arguments for one member. */
function serveArgs(f: MemberFlags, level: string): string[] {
  return [
    'serve',
    '--name',
    f.name,
    '--data-dir',
    f.dataDir,
    '--listen-client-urls',
    f.listenClientUrls,
    '--advertise-client-urls',
    f.listenClientUrls,
    '--listen-peer-urls',
    f.listenPeerUrls,
    '--initial-advertise-peer-urls',
    f.listenPeerUrls,
    '--initial-cluster',
    f.initialCluster,
    '--initial-cluster-token',
    f.initialClusterToken,
    '--log-format',
    'console',
    '--log-level',
    level,
  ];
}

/** How this command was run, for a command line the user can paste: `concord` or `node …/main.js`. */
function selfCommand(main: string): string {
  const invoked = process.argv[1] ?? main;
  return path.basename(invoked) === 'concord' ? 'concord' : `${process.execPath} ${main}`;
}

async function runProcesses(flags: MemberFlags[], level: string): Promise<void> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const children: { f: MemberFlags; child: ChildProcess }[] = [];
  let stopping = false;
  const killAll = (signal: NodeJS.Signals) => {
    for (const { child } of children)
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const exited = (child: ChildProcess) =>
    new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      else child.once('exit', () => r());
    });
  try {
    await Promise.all(
      flags.map(
        (f) =>
          new Promise<void>((resolve, reject) => {
            // stderr is shared: every member's log lines carry its name.
            const child = spawn(process.execPath, [main, ...serveArgs(f, level)], {
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            children.push({ f, child });
            const timer = setTimeout(
              () => reject(new Error(`${f.name} was not ready within ${START_TIMEOUT_MS / 1000} s`)),
              START_TIMEOUT_MS,
            );
            createInterface({ input: child.stdout! }).on('line', (line) => {
              if (line.includes('ready to serve client requests')) {
                clearTimeout(timer);
                resolve();
              }
            });
            child.once('exit', (code, signal) => {
              clearTimeout(timer);
              reject(new Error(`${f.name} exited (${signal ?? `code ${code}`}) before it was ready`));
            });
          }),
      ),
    );
  } catch (err) {
    killAll('SIGKILL');
    await Promise.all(children.map(({ child }) => exited(child)));
    throw err;
  }
  const self = selfCommand(main);
  for (const { f, child } of children)
    child.once('exit', (code, signal) => {
      if (stopping) return;
      process.stdout.write(
        `concord: ${f.name} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); the others go on. Start it again with:\n  ${self} ${serveArgs(f, level).join(' ')}\n`,
      );
    });
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`concord: ${signal}: stopping ${children.length} member processes\n`);
    killAll('SIGTERM');
    const force = setTimeout(() => killAll('SIGKILL'), 10_000);
    force.unref();
    Promise.all(children.map(({ child }) => exited(child))).then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  for (const { f, child } of children)
    process.stdout.write(
      `concord: ${f.name}  pid ${child.pid}  client ${f.listenClientUrls}  peer ${f.listenPeerUrls}\n`,
    );
  const endpoints = flags.map((f) => new URL(f.listenClientUrls).host).join(',');
  ready(flags.length, endpoints);
  const leader = await leaderOf(flags);
  const who = children.find(({ f }) => f.name === leader) ?? children[0]!;
  process.stdout.write(
    `concord: to see a failover, kill a member${leader ? ` (${leader} is the leader)` : ''}:  kill -9 ${who.child.pid}\n` +
      '         the others elect a new leader within about an election timeout (1 s) and go on serving\n',
  );
}

/** The leader's name, as the members see it (undefined if they cannot say within a few seconds). */
async function leaderOf(flags: MemberFlags[]): Promise<string | undefined> {
  const client = new Client({ endpoints: flags.map((f) => f.listenClientUrls), timeoutMs: 2000 });
  try {
    for (let i = 0; i < 20; i++) {
      try {
        const s = await client.maintenance.status();
        if (s.leader !== 0n) {
          const members = (await client.cluster.members()).members;
          return members.find((m) => m.id === s.leader)?.name;
        }
      } catch {
        // not answering yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return undefined;
  } finally {
    client.close();
  }
}
