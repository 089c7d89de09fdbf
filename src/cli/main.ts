#!/usr/bin/env node
/**
 * The `concord` command. Each command group lives in its own module (`snapshot.ts`, …) and is
 * added here; storage and server errors print their message and exit 1.
 */
import { Command } from 'commander';
import { ConfigError, RecoveryError } from '../server/index.js';
import { StorageError } from '../storage/index.js';
import { devCommand } from './dev.js';
import { serveCommand } from './serve.js';
import { snapshotCommand } from './snapshot.js';

function program(): Command {
  return new Command('concord')
    .description('Concord: a Raft-replicated key-value cluster speaking the etcd v3 API')
    .addCommand(serveCommand())
    .addCommand(devCommand())
    .addCommand(snapshotCommand());
}

program()
  .parseAsync()
  .catch((err: unknown) => {
    process.stderr.write(
      `concord: ${
        err instanceof StorageError || err instanceof ConfigError || err instanceof RecoveryError
          ? err.message
          : String(err)
      }\n`,
    );
    process.exitCode = 1;
  });
