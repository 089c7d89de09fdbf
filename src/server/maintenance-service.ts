/**
 * The Maintenance service: Status, HashKV, Hash, Alarm. Snapshot, Defragment, MoveLeader and
 * Downgrade belong to the cluster-operations issue and answer UNIMPLEMENTED until then.
 */
import { AlarmRequest_AlarmAction, type MaintenanceServiceImplementation } from '../gen/etcdserverpb/rpc.js';
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

export function maintenanceService(node: Node): MaintenanceServiceImplementation {
  const { sm, proposer } = node;
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

    async hashKV(req) {
      // Each member hashes its own keyspace (etcd's HashKV is how members are compared).
      const resp = sm.hashKV(Number(req.revision));
      node.header(resp.header);
      return resp;
    },

    async hash(_req, ctx) {
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

    async defragment() {
      // Nothing to defragment in memory: etcd's answer for a compact store.
      return { header: node.header(undefined, sm.revision) };
    },
    snapshot() {
      throw new UnimplementedError('Maintenance.Snapshot');
    },
    async moveLeader(req) {
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
