/**
 * The cluster's members as every member agrees on them: the Raft configuration plus each
 * member's name and URLs. It changes only by applied entries (conf changes, attribute
 * publications) and travels with every snapshot, so a restarted member or one that installed a
 * snapshot knows the same members as the others.
 */
import type { ConfState } from '../../raft/index.js';
import { memberFault } from '../errors.js';

export interface MemberRecord {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

interface MembershipJson {
  version: 1;
  members: { id: string; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean }[];
  confState: { voters: string[]; learners: string[] };
  /** IDs removed from the cluster: they may never come back (etcd's removed set). */
  removed?: string[];
}

export class MembershipFormatError extends memberFault(
  'bad-membership-record',
  'bad membership record in snapshot',
) {}

export class Membership {
  readonly members = new Map<bigint, MemberRecord>();
  readonly removed = new Set<bigint>();
  confState: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [] };

  static founding(members: { id: bigint; name: string; peerUrl: string }[]): Membership {
    const m = new Membership();
    for (const x of members)
      m.members.set(x.id, {
        id: x.id,
        name: x.name,
        peerUrls: [x.peerUrl],
        clientUrls: [],
        isLearner: false,
      });
    m.confState = {
      voters: members.map((x) => x.id),
      learners: [],
      votersOutgoing: [],
      learnersNext: [],
    };
    return m;
  }

  /** Members in ID order (as etcd lists them). */
  list(): MemberRecord[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The member whose peer URLs include `url` (a joining member finds itself this way). */
  byPeerUrl(url: string): MemberRecord | undefined {
    for (const m of this.members.values()) if (m.peerUrls.includes(url)) return m;
    return undefined;
  }

  setAttributes(id: bigint, name: string, clientUrls: string[]): void {
    const m = this.members.get(id);
    if (!m) return;
    m.name = name;
    m.clientUrls = [...clientUrls];
  }

  encode(): Buffer {
    const j: MembershipJson = {
      version: 1,
      members: this.list().map((m) => ({ ...m, id: m.id.toString(16) })),
      confState: {
        voters: this.confState.voters.map((v) => v.toString(16)),
        learners: this.confState.learners.map((v) => v.toString(16)),
      },
      removed: [...this.removed].map((v) => v.toString(16)),
    };
    return Buffer.from(JSON.stringify(j));
  }

  static decode(bytes: Uint8Array): Membership {
    let j: MembershipJson;
    try {
      j = JSON.parse(Buffer.from(bytes).toString('utf8')) as MembershipJson;
    } catch (err) {
      throw new MembershipFormatError(String(err));
    }
    if (j?.version !== 1) throw new MembershipFormatError(`version ${String(j?.version)}`);
    const m = new Membership();
    for (const x of j.members) m.members.set(BigInt(`0x${x.id}`), { ...x, id: BigInt(`0x${x.id}`) });
    for (const r of j.removed ?? []) m.removed.add(BigInt(`0x${r}`));
    m.confState = {
      voters: j.confState.voters.map((v) => BigInt(`0x${v}`)),
      learners: j.confState.learners.map((v) => BigInt(`0x${v}`)),
      votersOutgoing: [],
      learnersNext: [],
    };
    return m;
  }
}
