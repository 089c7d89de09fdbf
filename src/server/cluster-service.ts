/**
 * The Cluster service: MemberList. Membership changes arrive with Raft replication (the
 * cluster-operations issue); until then they answer UNIMPLEMENTED.
 */
import type { ClusterServiceImplementation } from '../gen/etcdserverpb/rpc.js';
import { UnimplementedError } from './errors.js';
import type { Node } from './node.js';

export function clusterService(node: Node): ClusterServiceImplementation {
  return {
    async memberList() {
      return {
        // etcd's cluster service header carries no revision.
        header: node.header(undefined),
        members: node.members.map((m) => ({
          ID: m.id,
          name: m.name,
          peerURLs: m.peerUrls,
          clientURLs: m.clientUrls,
          isLearner: m.isLearner,
        })),
      };
    },
    async memberAdd() {
      throw new UnimplementedError('MemberAdd');
    },
    async memberRemove() {
      throw new UnimplementedError('MemberRemove');
    },
    async memberUpdate() {
      throw new UnimplementedError('MemberUpdate');
    },
    async memberPromote() {
      throw new UnimplementedError('MemberPromote');
    },
  };
}
