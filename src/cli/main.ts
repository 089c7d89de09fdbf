#!/usr/bin/env node
/**
 * The `concord` command. Each command group lives in its own module (`snapshot.ts`, …) and is
 * added here. `concord --version` prints what `etcd --version` does. A refusal (a bad flag, a
 * busy port, a storage error) prints `concord: <message>` and exits 1, without a stack trace.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ETCD_VERSION } from '../server/index.js';
import { dashboardCommand } from './dashboard.js';
import { devCommand } from './dev.js';
import { goStyleFlags } from './options.js';
import { serveCommand } from './serve.js';
import { snapshotCommand } from './snapshot.js';

/** The package's version (dist/src/cli/main.js → package.json). */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** As `etcd --version` prints it (etcd: Version, Git SHA, Go Version, Go OS/Arch). */
export function versionText(): string {
  const api = ETCD_VERSION.split('.').slice(0, 2).join('.');
  return [
    `concord Version: ${packageVersion()}`,
    `etcd API Version: ${api}`,
    `Node.js Version: ${process.version}`,
    `Node.js OS/Arch: ${process.platform}/${process.arch}`,
  ].join('\n');
}

function program(): Command {
  return new Command('concord')
    .description('Concord: a Raft-replicated key-value cluster speaking the etcd v3 API')
    .version(versionText(), '-v, --version', 'print the version and exit')
    .addCommand(serveCommand())
    .addCommand(devCommand())
    .addCommand(snapshotCommand())
    .addCommand(dashboardCommand());
}

/**
 * An operand that names no subcommand of a command that only has subcommands. commander would
 * show the parent's help for `concord snapshot nope --help`; this says the command is unknown.
 */
function unknownCommand(root: Command, args: string[]): { path: string; parent: string } | undefined {
  let cmd = root;
  const path: string[] = [];
  for (const a of args) {
    if (a.startsWith('-') || cmd.commands.length === 0) return undefined;
    if (cmd === root && a === 'help') return undefined;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) return { path: [...path, a].join(' '), parent: path.join(' ') };
    cmd = sub;
    path.push(a);
  }
  return undefined;
}

const root = program();
const args = goStyleFlags(process.argv.slice(2));
const unknown = unknownCommand(root, args);
if (unknown) {
  process.stderr.write(
    `concord: unknown command '${unknown.path}' (see 'concord ${unknown.parent ? `${unknown.parent} ` : ''}--help')\n`,
  );
  process.exitCode = 1;
} else
  root.parseAsync(args, { from: 'user' }).catch((err: unknown) => {
    // What went wrong, not where: a refusal is not a crash (set CONCORD_DEBUG=1 for the stack).
    const text = err instanceof Error ? err.message || err.name : String(err);
    process.stderr.write(`concord: ${text}\n`);
    if (process.env.CONCORD_DEBUG && err instanceof Error && err.stack)
      process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  });
