/**
 * The Cluster service: the member list and runtime membership changes (etcd's MemberAdd,
 * MemberRemove, MemberUpdate, MemberPromote), each replicated through Raft and answered once
 * applied here, with the member list as it stands after the change.
 */
import { type CallContext, createChannel, createClient } from 'nice-grpc';
import {
  type ClusterClient,
  ClusterDefinition,
  type ClusterServiceImplementation,
  type Member,
} from '../../gen/etcdserverpb/rpc.js';
import type { Node } from '../bootstrap/node.js';
import { channelCredentialsFor } from '../bootstrap/tls.js';
import type { MemberRecord } from '../raft/membership.js';

const toMember = (m: MemberRecord): Member => ({
  ID: m.id,
  name: m.name,
  peerURLs: m.peerUrls,
  clientURLs: m.clientUrls,
  isLearner: m.isLearner,
});

export function clusterService(node: Node): ClusterServiceImplementation {
  // etcd's cluster service header carries no revision.
  const header = () => node.header(undefined);
  const list = () => node.members.map((m) => toMember({ ...m, isLearner: m.isLearner }));
  /** Sends a call to the leader's client port and answers with what the leader answered. */
  async function forwardToLeader<T>(call: (c: ClusterClient) => Promise<T>): Promise<T> {
    const url = node.leaderClientUrl();
    const u = new URL(url);
    // The member calls as a client of the leader's port: its client certificate is its own.
    const channel = createChannel(`${u.hostname}:${u.port}`, channelCredentialsFor(url, node.tls.client));
    try {
      return await call(createClient(ClusterDefinition, channel));
    } finally {
      channel.close();
    }
  }
  /** The answer to a change: the leader's when only the leader could make it (`done` undefined). */
  const changed = <T>(done: unknown, askLeader: () => Promise<T>) =>
    done === undefined ? askLeader() : { header: header(), members: list() };
  const forwarded = (ctx: CallContext) => ({ signal: ctx.signal, metadata: ctx.metadata });
  /** Membership changes need the root role when auth is on (etcd's checkMembershipOperationPermission). */
  const admin = async (ctx: { metadata: Parameters<typeof node.auth.infoOf>[0] }) => {
    if (node.auth.enabled) node.sm.auth.isAdminPermitted(await node.auth.infoOf(ctx.metadata));
  };
  return {
    async memberList(req, ctx) {
      // etcd 3.5: a linearizable member list first catches up with the leader's commit.
      if (req.linearizable) await node.proposer.readIndex(ctx.signal);
      return { header: header(), members: list() };
    },

    async memberAdd(req, ctx) {
      await admin(ctx);
      const { id } = await node.memberAdd(req.peerURLs, req.isLearner, ctx.signal);
      return {
        header: header(),
        member: { ID: id, name: '', peerURLs: req.peerURLs, clientURLs: [], isLearner: req.isLearner },
        members: list(),
      };
    },

    async memberRemove(req, ctx) {
      await admin(ctx);
      const done = await node.memberRemove(req.ID, ctx.signal);
      return changed(done, () => forwardToLeader((c) => c.memberRemove(req, forwarded(ctx))));
    },

    async memberUpdate(req, ctx) {
      await admin(ctx);
      await node.memberUpdate(req.ID, req.peerURLs, ctx.signal);
      return { header: header(), members: list() };
    },

    async memberPromote(req, ctx) {
      await admin(ctx);
      const done = await node.memberPromote(req.ID, ctx.signal);
      // Only the leader knows how far the learner's log is: it decides (etcd forwards too).
      return changed(done, () => forwardToLeader((c) => c.memberPromote(req, forwarded(ctx))));
    },
  };
}
