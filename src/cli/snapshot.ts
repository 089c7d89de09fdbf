/**
 * `concord snapshot …`: look at the snapshots in a store without a running member.
 *
 *   concord snapshot list    --store <dir|postgres://…> [--cluster-id <hex>] [--member-id <hex>] [--json]
 *   concord snapshot inspect <id> --store <dir|postgres://…> [--verify] [--json]
 *   concord snapshot status <file> [--json]   (a file from `etcdctl snapshot save`)
 *   concord snapshot save <file> [--endpoints host:port] [--cacert f] [--cert f --key f]
 *   concord snapshot restore <file> | --store <dir|postgres://…> [--id <id> | --cluster-id <hex>]
 *                    --data-dir <dir> --name <name> --initial-cluster <name=url,…>
 *                    [--initial-cluster-token …] [--initial-advertise-peer-urls …]
 *                    [--bump-revision 1000000] [--no-mark-compacted]
 */
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, InvalidArgumentError } from 'commander';
import { Client } from '../client/node-client.js';
import { SnapshotFormatError } from '../mvcc/index.js';
import {
  ConfigError,
  DEFAULT_BUMP_REVISION,
  RecoveryError,
  type RestoreResult,
  resolveConfig,
  restoreSnapshot,
} from '../server/index.js';
import {
  hexId,
  openSnapshotStore,
  type SnapshotFilter,
  type SnapshotMeta,
  type SnapshotStore,
  StorageError,
} from '../storage/index.js';
import { counted, Progress } from './progress.js';
import {
  notConcordSnapshot,
  readSnapshotFile,
  SnapshotFileError,
  snapshotFileStatus,
} from './snapshot-file.js';

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

/**
 * Progress of a long operation on stderr (see progress.ts). CONCORD_PROGRESS=0 turns it off;
 * CONCORD_PROGRESS=1 shows it from the start when stderr is not a TTY (normally it stays quiet
 * for the first 2 s, so a short operation writes nothing there).
 */
function progressFor(label: string, total?: number): Progress | undefined {
  const mode = process.env.CONCORD_PROGRESS;
  if (mode === '0') return undefined;
  return new Progress(process.stderr, { label, total, quietMs: mode === '1' ? 0 : undefined });
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
    .command('inspect <id|file>')
    .description(
      'show one snapshot of a store (--store; --verify reads it through and checks its SHA-256), or check a file saved by `etcdctl snapshot save` from a Concord member (its SHA-256, then its data: revision, keys, hash)',
    )
    .option('--store <store>', 'a snapshot directory or a postgres:// URL (?schema=… picks the schema)')
    .option('--verify', 'read the data and check size and SHA-256')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { store?: string; verify?: boolean; json?: boolean }) => {
      if (o.store === undefined) return fileStatus(io, id, o);
      await withStore(o.store, async (s) => {
        const m = await s.stat(id);
        let verified: boolean | undefined;
        if (o.verify) {
          for await (const _ of counted(await s.open(id), progressFor(`verifying ${id}`, m.size))) {
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
    .action((file: string, o: { json?: boolean }) => fileStatus(io, file, o));
  cmd
    .command('save <file>')
    .description(
      "save a running member's snapshot to a file, as `etcdctl snapshot save` does (`concord snapshot status` checks it, `concord snapshot restore` starts a new cluster from it)",
    )
    .option(
      '--endpoints <endpoints>',
      'the member to save from (host:port or URL; the first one)',
      '127.0.0.1:2379',
    )
    .option('--cacert <file>', 'CA bundle that verifies an https:// member')
    .option('--cert <file>', 'client certificate, for a member with --client-cert-auth')
    .option('--key <file>', 'private key of --cert')
    .action(async (file: string, o: SaveFlags) => {
      const bytes = await saveSnapshot(file, o);
      io.out(`Snapshot saved at ${file} (${bytes} bytes)\n`);
    });
  cmd
    .command('restore [file]')
    .description(
      "write a new member's data dir from a snapshot: a file saved by `etcdctl snapshot save` from Concord, or one in a snapshot store; run it for every member with the same flags, then start them",
    )
    .option(
      '--store <store>',
      'restore from this store (a snapshot directory or a postgres:// URL) instead of a file',
    )
    .option('--id <id>', 'with --store: this snapshot (default: the newest)')
    .option('--cluster-id <hex>', 'with --store: the newest snapshot of this cluster', parseId)
    .option('--data-dir <dir>', 'the data dir to create', './concord.data')
    .option('--name <name>', "this member's name", 'default')
    .option('--initial-cluster <pairs>', 'the new cluster: name=peerURL,…')
    .option('--initial-cluster-token <token>', 'the new cluster token', 'etcd-cluster')
    .option('--initial-advertise-peer-urls <urls>', "this member's peer URLs", 'http://localhost:2380')
    .option(
      '--bump-revision <n>',
      'move the revision forward by this much, past any revision clients of the old cluster saw',
      String(DEFAULT_BUMP_REVISION),
    )
    .option('--no-mark-compacted', 'do not compact the revisions before the bumped one')
    .option('--json', 'print JSON')
    .action(async (file: string | undefined, o: RestoreFlags) => {
      try {
        const r = await restoreCommand(file, o);
        if (o.json)
          io.out(`${JSON.stringify({ ...r, clusterId: hexId(r.clusterId), memberId: hexId(r.memberId) })}\n`);
        else
          io.out(
            `restored snapshot (revision ${r.fromRevision}, ${r.keys} keys) into ${o.dataDir} as member ${hexId(r.memberId)} of cluster ${hexId(r.clusterId)}; revision now ${r.revision}, ${r.compactRevision < 0 ? 'never compacted' : `compacted at ${r.compactRevision}`}\n`,
          );
      } catch (e) {
        const err = file ? notConcordSnapshot(file, e) : e;
        if (err instanceof SnapshotFormatError) return fail(io, `not a Concord snapshot: ${err.message}`);
        if (
          err instanceof SnapshotFileError ||
          err instanceof ConfigError ||
          err instanceof RecoveryError ||
          err instanceof StorageError ||
          err instanceof RangeError
        )
          return fail(io, err.message);
        throw err;
      }
    });
  return cmd;
}

interface SaveFlags {
  endpoints: string;
  cacert?: string;
  cert?: string;
  key?: string;
}

/** Streams Maintenance.Snapshot into `<file>.part`, renamed to `file` once complete (as etcdctl). */
async function saveSnapshot(file: string, o: SaveFlags): Promise<number> {
  const endpoint = o.endpoints.split(',')[0]!.trim();
  const tls =
    o.cacert || o.cert || o.key
      ? {
          ca: o.cacert ? await readFile(o.cacert) : undefined,
          cert: o.cert ? await readFile(o.cert) : undefined,
          key: o.key ? await readFile(o.key) : undefined,
        }
      : undefined;
  const client = new Client({ endpoints: [endpoint], tls, transport: 'grpc' });
  const part = `${file}.part`;
  // The member does not say the size up front: bytes and rate, no total.
  const progress = progressFor(`saving ${file}`);
  let bytes = 0;
  try {
    const chunks = async function* () {
      for await (const chunk of counted(client.maintenance.snapshot(), progress)) {
        bytes += chunk.length;
        yield chunk;
      }
    };
    await pipeline(Readable.from(chunks()), createWriteStream(part, { flags: 'w' }));
    await rename(part, file);
    return bytes;
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  } finally {
    client.close();
  }
}

interface RestoreFlags {
  store?: string;
  id?: string;
  clusterId?: bigint;
  dataDir: string;
  name: string;
  initialCluster?: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string;
  bumpRevision: string;
  markCompacted: boolean;
  json?: boolean;
}

async function restoreCommand(file: string | undefined, o: RestoreFlags): Promise<RestoreResult> {
  if ((file === undefined) === (o.store === undefined))
    throw new ConfigError('restore: give either a snapshot file or --store, not both');
  const bump = Number(o.bumpRevision);
  const config = resolveConfig({
    name: o.name,
    dataDir: o.dataDir,
    initialCluster: o.initialCluster,
    initialClusterToken: o.initialClusterToken,
    initialAdvertisePeerUrls: o.initialAdvertisePeerUrls,
    listenPeerUrls: o.initialAdvertisePeerUrls,
  });
  const common = { config, bumpRevision: bump, markCompacted: o.markCompacted };
  if (file !== undefined) {
    const { data, sha256 } = await readSnapshotFile(file, (total) => progressFor(`reading ${file}`, total));
    return restoreSnapshot({ ...common, data: [data], sha256 });
  }
  return withStore(o.store!, async (s) => {
    let meta: SnapshotMeta | undefined;
    if (o.id !== undefined) meta = await s.stat(o.id);
    else {
      const all = await s.list({ clusterId: o.clusterId });
      const clusters = new Set(all.map((m) => hexId(m.clusterId)));
      if (clusters.size > 1)
        throw new ConfigError(
          `restore: the store holds snapshots of several clusters (${[...clusters].join(', ')}): pick one with --cluster-id or --id`,
        );
      meta = all[0];
      if (!meta)
        throw new ConfigError(
          `restore: the store holds no snapshot${o.clusterId === undefined ? '' : ` of cluster ${hexId(o.clusterId)}`}`,
        );
    }
    // The stream checks size and SHA-256 as it is read: restore fails before writing if they differ.
    // A postgres:// store streams the snapshot out of the database: the long part of a restore.
    const data = counted(await s.open(meta.id), progressFor(`restoring ${meta.id}`, meta.size));
    return restoreSnapshot({ ...common, data, sha256: meta.sha256 });
  });
}

async function fileStatus(io: CliIo, file: string, o: { json?: boolean }): Promise<void> {
  let st: Awaited<ReturnType<typeof snapshotFileStatus>>;
  try {
    st = await snapshotFileStatus(file, (total) => progressFor(`reading ${file}`, total));
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
}
