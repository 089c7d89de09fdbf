/**
 * The Maintenance service: Status, HashKV, Hash, Alarm, Defragment, MoveLeader and Snapshot.
 * Downgrade answers UNIMPLEMENTED.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AlarmRequest_AlarmAction,
  type MaintenanceServiceImplementation,
} from '../../gen/etcdserverpb/rpc.js';
import { snapshot as snapshotChunks } from '../../mvcc/index.js';
import type { Node } from '../bootstrap/node.js';
import {
  BadLeaderTransfereeError,
  LeaderTransferTimeoutError,
  NotLeaderError,
  UnimplementedError,
} from '../errors.js';

/** The etcd version this member reports (the API level it implements). */
export const ETCD_VERSION = '3.5.0';
export const CLUSTER_VERSION = '3.5.0';
/** etcd's storage version field (3.6+); empty like etcd 3.5. */
const STORAGE_VERSION = '';
/** etcd's snapshotSendBufferSize. */
const SNAPSHOT_SEND_BYTES = 32 * 1024;
/** etcdctl only accepts a file whose length is a multiple of this plus the 32-byte SHA-256. */
const SNAPSHOT_ALIGN = 512;

export function maintenanceService(node: Node): MaintenanceServiceImplementation {
  const { sm, proposer } = node;
  /** etcd's authMaintenanceServer: these calls need the root role when auth is on. */
  const admin = async (ctx: { metadata: Parameters<typeof node.auth.infoOf>[0] }) => {
    if (node.auth.enabled) sm.auth.isAdminPermitted(await node.auth.infoOf(ctx.metadata));
  };
  return {
    async status() {
      const st = proposer.status();
      const size = BigInt(sm.kv.sizeBytes);
      return {
        header: node.header(undefined, sm.revision),
        version: ETCD_VERSION,
        dbSize: size,
        dbSizeInUse: size,
        leader: st.leader,
        raftIndex: BigInt(st.lastIndex),
        raftTerm: BigInt(st.term),
        raftAppliedIndex: BigInt(st.appliedIndex),
        errors: sm.alarms.list().map((a) => `memberID:${a.memberID} alarm:${a.alarm}`),
        isLearner: false,
        storageVersion: STORAGE_VERSION,
        dbSizeQuota: BigInt(node.config.quotaBackendBytes),
        downgradeInfo: undefined,
      };
    },

    async hashKV(req, ctx) {
      await admin(ctx);
      // Each member hashes its own keyspace (etcd's HashKV is how members are compared).
      const resp = sm.hashKV(Number(req.revision));
      node.header(resp.header);
      return resp;
    },

    async hash(_req, ctx) {
      await admin(ctx);
      // etcd hashes its bbolt file; the closest deterministic equivalent is the keyspace hash.
      await proposer.readIndex(ctx.signal);
      const r = sm.hashKV(0);
      return { header: node.header(r.header), hash: r.hash };
    },

    async alarm(req, ctx) {
      if (req.action === AlarmRequest_AlarmAction.GET) {
        const resp = sm.alarms.apply(req, sm.revision);
        node.header(resp.header);
        return resp;
      }
      const resp = await proposer.propose({ alarm: req }, ctx.signal);
      node.header(resp.header);
      return resp;
    },

    async defragment(_req, ctx) {
      await admin(ctx);
      // etcd rewrites its database file to give back the space of compacted revisions. Here the
      // keyspace is in memory and compaction frees it at once; what grows on disk is the WAL,
      // so defragmenting snapshots the member now and releases the WAL behind the snapshot.
      await node.proposer.snapshotNow();
      return { header: node.header(undefined, sm.revision) };
    },
    async *snapshot(_req, ctx) {
      await admin(ctx);
      // The member's own state as of now, in Concord's format (etcd sends its bbolt file).
      // Spooled to a temp file first, because etcd's remainingBytes counts down from the total;
      // a file, not memory, so a large keyspace is not held twice.
      const header = node.header(undefined, sm.revision);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'concord-snapshot-'));
      const fh = await open(path.join(dir, 'snapshot'), 'w+');
      try {
        let total = 0;
        for (const chunk of snapshotChunks(sm, { alignTo: SNAPSHOT_ALIGN })) {
          await fh.write(chunk);
          total += chunk.length;
        }
        const sha = createHash('sha256');
        for (let sent = 0; sent < total; ) {
          const blob = Buffer.allocUnsafe(Math.min(SNAPSHOT_SEND_BYTES, total - sent));
          const { bytesRead } = await fh.read(blob, 0, blob.length, sent);
          if (bytesRead !== blob.length) throw new Error(`snapshot spool: short read at ${sent}`);
          sha.update(blob);
          sent += blob.length;
          yield { header, remainingBytes: BigInt(total - sent), blob, version: STORAGE_VERSION };
        }
        // Like etcd, the SHA-256 of everything sent ends the stream: etcdctl keeps it as the
        // file's last 32 bytes and `snapshot restore` checks it.
        yield { header, remainingBytes: 0n, blob: sha.digest(), version: STORAGE_VERSION };
      } finally {
        await fh.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
    async moveLeader(req, ctx) {
      await admin(ctx);
      const p = node.proposer;
      if (!p.isLeader) throw new NotLeaderError();
      if (!p.isVoter(req.targetID)) throw new BadLeaderTransfereeError();
      if (!(await p.transferLeadership(5000 + 2 * node.config.electionTimeoutMs, req.targetID)))
        throw new LeaderTransferTimeoutError();
      return { header: node.header(undefined, sm.revision) };
    },
    async downgrade() {
      throw new UnimplementedError('Downgrade');
    },
  };
}
