/**
 * `concord snapshot …`: look at the snapshots in a store without a running member.
 *
 *   concord snapshot list    --store <dir|postgres://…> [--cluster-id <hex>] [--member-id <hex>] [--json]
 *   concord snapshot inspect <id> --store <dir|postgres://…> [--verify] [--json]
 *   concord snapshot status <file> [--json]   (a file from `etcdctl snapshot save`)
 *
 * (`restore` arrives with the server, which owns the data-dir layout.)
 */
import { Command, InvalidArgumentError } from 'commander';
import {
  hexId,
  openSnapshotStore,
  type SnapshotFilter,
  type SnapshotMeta,
  type SnapshotStore,
} from '../storage/index.js';
import { SnapshotFileError, snapshotFileStatus } from './snapshot-file.js';

export interface CliIo {
  out: (text: string) => void;
  /** A refusal: printed, and the command exits 1. */
  fail?: (text: string) => void;
}

const defaultIo: CliIo = { out: (t) => process.stdout.write(t) };

function fail(io: CliIo, text: string): void {
  if (io.fail) {
    io.fail(text);
    return;
  }
  process.stderr.write(`concord: ${text}\n`);
  process.exitCode = 1;
}

function parseId(value: string): bigint {
  if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(value))
    throw new InvalidArgumentError(
      `expected a 64-bit ID in hex (as etcd prints them), got ${JSON.stringify(value)}`,
    );
  return BigInt(value.startsWith('0x') ? value : `0x${value}`);
}

function asJson(m: SnapshotMeta): Record<string, unknown> {
  return {
    id: m.id,
    clusterId: hexId(m.clusterId),
    memberId: hexId(m.memberId),
    term: m.term,
    index: m.index,
    size: m.size,
    sha256: m.sha256,
    createdAt: m.createdAt.toISOString(),
    membership: Buffer.from(m.membership).toString('utf8'),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

async function withStore<T>(spec: string, fn: (s: SnapshotStore) => Promise<T>): Promise<T> {
  const store = openSnapshotStore(spec);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function snapshotCommand(io: CliIo = defaultIo): Command {
  const cmd = new Command('snapshot').description('inspect the snapshots in a snapshot store');
  cmd
    .command('list')
    .description('list snapshots, newest first')
    .requiredOption(
      '--store <store>',
      'a snapshot directory or a postgres:// URL (?schema=… picks the schema)',
    )
    .option('--cluster-id <hex>', 'only this cluster', parseId)
    .option('--member-id <hex>', 'only this member', parseId)
    .option('--json', 'one JSON object per line')
    .action(async (o: { store: string; clusterId?: bigint; memberId?: bigint; json?: boolean }) => {
      const filter: SnapshotFilter = { clusterId: o.clusterId, memberId: o.memberId };
      const list = await withStore(o.store, (s) => s.list(filter));
      if (o.json) {
        for (const m of list) io.out(`${JSON.stringify(asJson(m))}\n`);
        return;
      }
      const rows = [['ID', 'CLUSTER', 'MEMBER', 'TERM', 'INDEX', 'SIZE', 'SHA256', 'CREATED']];
      for (const m of list)
        rows.push([
          m.id,
          hexId(m.clusterId),
          hexId(m.memberId),
          String(m.term),
          String(m.index),
          String(m.size),
          m.sha256.slice(0, 12),
          m.createdAt.toISOString(),
        ]);
      io.out(table(rows));
    });
  cmd
    .command('inspect <id>')
    .description('show one snapshot; --verify reads it through and checks its SHA-256')
    .requiredOption(
      '--store <store>',
      'a snapshot directory or a postgres:// URL (?schema=… picks the schema)',
    )
    .option('--verify', 'read the data and check size and SHA-256')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { store: string; verify?: boolean; json?: boolean }) => {
      await withStore(o.store, async (s) => {
        const m = await s.stat(id);
        let verified: boolean | undefined;
        if (o.verify) {
          for await (const _ of await s.open(id)) {
            // Reading to the end is the check: the stream fails on a mismatch.
          }
          verified = true;
        }
        const j = { ...asJson(m), ...(verified ? { verified } : {}) };
        if (o.json) io.out(`${JSON.stringify(j)}\n`);
        else io.out(table(Object.entries(j).map(([k, v]) => [`${k}:`, String(v)])));
      });
    });
  cmd
    .command('status <file>')
    .description(
      'check a file saved by `etcdctl snapshot save` from a Concord member (its SHA-256, then its data) and show it as etcdctl snapshot status does',
    )
    .option('--json', 'print JSON (etcdctl -w json field names)')
    .action(async (file: string, o: { json?: boolean }) => {
      let st: Awaited<ReturnType<typeof snapshotFileStatus>>;
      try {
        st = await snapshotFileStatus(file);
      } catch (e) {
        if (!(e instanceof SnapshotFileError)) throw e;
        fail(io, e.message);
        return;
      }
      if (o.json) io.out(`${JSON.stringify(st)}\n`);
      else
        io.out(
          table([
            ['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'],
            [st.hash.toString(16), String(st.revision), String(st.totalKey), String(st.totalSize)],
          ]),
        );
    });
  return cmd;
}
