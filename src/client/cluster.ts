/**
 * The Cluster service: membership. Listing is a read (retried on another member); changes are
 * writes (never retried once sent: a second MemberAdd would add a second member).
 */
import type { Member as WireMember } from '../gen/etcdserverpb/rpc.js';
import { ClusterDefinition } from '../gen/services.js';
import type { CallOptions } from './call-options.js';
import type { Connections } from './connections.js';
import { header, type ResponseHeader } from './kv.js';

/** A member of the cluster, as `client.cluster.members()` lists it. */
export interface Member {
  /** The member's ID. */
  id: bigint;
  /** Empty for a member added but not yet started. */
  name: string;
  /** The URLs the other members reach it on. */
  peerURLs: string[];
  /** The URLs clients reach it on (empty until it has started). */
  clientURLs: string[];
  /** A learner replicates but does not vote until it is promoted. */
  isLearner: boolean;
}

/** The members after a membership call. */
export interface MemberListResult {
  /** The member that answered and the revision. */
  header: ResponseHeader;
  /** Every member of the cluster. */
  members: Member[];
}

const member = (m: WireMember): Member => ({
  id: m.ID,
  name: m.name,
  peerURLs: m.peerURLs,
  clientURLs: m.clientURLs,
  isLearner: m.isLearner,
});

/**
 * Membership, as `client.cluster`: list, add, remove, update, promote. Changes are not retried
 * once sent, since a second add would add a second member.
 */
export class Cluster {
  readonly #conns: Connections;
  /** @internal */
  constructor(conns: Connections) {
    this.#conns = conns;
  }

  /** The members; `linearizable: true` reads them through the leader rather than from the answering member. */
  async members(opts?: CallOptions & { linearizable?: boolean }): Promise<MemberListResult> {
    const r = await this.#conns.unary('read', opts, (i, signal) =>
      this.#conns
        .client(ClusterDefinition, i)
        .memberList({ linearizable: opts?.linearizable ?? false }, { signal }),
    );
    return { header: header(r.header), members: r.members.map(member) };
  }

  /** Adds a member (a non-voting learner with `{ learner: true }`); returns it and the new list. */
  async add(peerURLs: string[], opts?: CallOptions & { learner?: boolean }) {
    const r = await this.#conns.unary('write', opts, (i, signal) =>
      this.#conns
        .client(ClusterDefinition, i)
        .memberAdd({ peerURLs, isLearner: opts?.learner ?? false }, { signal }),
    );
    return {
      header: header(r.header),
      member: r.member ? member(r.member) : undefined,
      members: r.members.map(member),
    };
  }

  /** Removes a member from the cluster. */
  async remove(id: bigint, opts?: CallOptions): Promise<MemberListResult> {
    const r = await this.#conns.unary('write', opts, (i, signal) =>
      this.#conns.client(ClusterDefinition, i).memberRemove({ ID: id }, { signal }),
    );
    return { header: header(r.header), members: r.members.map(member) };
  }

  /** Changes a member's peer URLs. */
  async update(id: bigint, peerURLs: string[], opts?: CallOptions): Promise<MemberListResult> {
    const r = await this.#conns.unary('write', opts, (i, signal) =>
      this.#conns.client(ClusterDefinition, i).memberUpdate({ ID: id, peerURLs }, { signal }),
    );
    return { header: header(r.header), members: r.members.map(member) };
  }

  /** Promotes a learner that has caught up with the leader to a voting member. */
  async promote(id: bigint, opts?: CallOptions): Promise<MemberListResult> {
    const r = await this.#conns.unary('write', opts, (i, signal) =>
      this.#conns.client(ClusterDefinition, i).memberPromote({ ID: id }, { signal }),
    );
    return { header: header(r.header), members: r.members.map(member) };
  }
}
