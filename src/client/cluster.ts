/**
 * The Cluster service: membership. Listing is a read (retried on another member); changes are
 * writes (never retried once sent: a second MemberAdd would add a second member).
 */
import { ClusterDefinition, type Member as WireMember } from '../gen/etcdserverpb/rpc.js';
import type { CallOptions } from './call-options.js';
import type { Connections } from './connections.js';
import { header, type ResponseHeader } from './kv.js';

export interface Member {
  id: bigint;
  /** Empty for a member added but not yet started. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberListResult {
  header: ResponseHeader;
  members: Member[];
}

const member = (m: WireMember): Member => ({
  id: m.ID,
  name: m.name,
  peerURLs: m.peerURLs,
  clientURLs: m.clientURLs,
  isLearner: m.isLearner,
});

export class Cluster {
  readonly #conns: Connections;
  constructor(conns: Connections) {
    this.#conns = conns;
  }

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

  async remove(id: bigint, opts?: CallOptions): Promise<MemberListResult> {
    const r = await this.#conns.unary('write', opts, (i, signal) =>
      this.#conns.client(ClusterDefinition, i).memberRemove({ ID: id }, { signal }),
    );
    return { header: header(r.header), members: r.members.map(member) };
  }

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
