/**
 * The Maintenance service: Status, HashKV, Hash, Alarm, Defragment, MoveLeader and Snapshot.
 * Downgrade answers UNIMPLEMENTED.
 */
import { createHash } from 'node:crypto';
import { AlarmRequest_AlarmAction, type MaintenanceServiceImplementation } from '../gen/etcdserverpb/rpc.js';
import { snapshot as snapshotChunks } from '../mvcc/index.js';
import {
  BadLeaderTransfereeError,
  LeaderTransferTimeoutError,
  NotLeaderError,
  UnimplementedError,
} from './errors.js';
import type { Node } from './node.js';

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
      // Nothing to defragment in memory: etcd's answer for a compact store.
      return { header: node.header(undefined, sm.revision) };
    },
    async *snapshot(_req, ctx) {
      await admin(ctx);
      // The member's own state as of now, in Concord's format (etcd sends its bbolt file).
      // Collected first because etcd's remainingBytes counts down from the total.
      const header = node.header(undefined, sm.revision);
      const chunks = [...snapshotChunks(sm, { alignTo: SNAPSHOT_ALIGN })];
      const total = chunks.reduce((n, c) => n + c.length, 0);
      const sha = createHash('sha256');
      let sent = 0;
      for (const chunk of chunks) {
        for (let off = 0; off < chunk.length; off += SNAPSHOT_SEND_BYTES) {
          const blob = Buffer.from(
            chunk.buffer,
            chunk.byteOffset + off,
            Math.min(SNAPSHOT_SEND_BYTES, chunk.length - off),
          );
          sha.update(blob);
          sent += blob.length;
          yield { header, remainingBytes: BigInt(total - sent), blob, version: STORAGE_VERSION };
        }
      }
      // Like etcd, the SHA-256 of everything sent ends the stream: etcdctl keeps it as the
      // file's last 32 bytes and `snapshot restore` checks it.
      yield { header, remainingBytes: 0n, blob: sha.digest(), version: STORAGE_VERSION };
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
