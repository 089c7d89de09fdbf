/**
 * The member's own clocks: lease expiry (found by the leader, revoked through Raft), lease
 * checkpoints, the leader monitor that ends leader-requiring streams, auto-compaction, and the
 * watch clocks (catching-up watchers, progress notifications). Every timer is unref()'d and
 * stopped with the member.
 */
import { FAILPOINTS, failpoint } from '../../failpoints.js';
import type { Logger } from '../../log.js';
import { LeaseNotFoundError, type StateMachine } from '../../mvcc/index.js';
import { NoLeaderError } from '../errors.js';
import type { RaftProposer } from '../raft/raft-proposer.js';
import { Compactor } from './compactor.js';
import type { ServeConfig } from './config.js';

/** How often the member looks for expired leases (etcd checks every 500 ms). */
export const LEASE_EXPIRY_CHECK_MS = 500;
/** Most lease revokes proposed per check (etcd's leaseRevokeRate is 1000/s). */
export const LEASE_REVOKES_PER_CHECK = 500;
/** Checkpoints per LeaseCheckpoint proposal (etcd's maxLeaseCheckpointBatchSize). */
export const LEASE_CHECKPOINTS_PER_REQUEST = 1000;
/** How often catching-up watchers get another batch (etcd's watchable store syncs every 100 ms). */
export const WATCH_SYNC_INTERVAL_MS = 100;

/** etcd's maxNoLeaderCnt: election timeouts without a leader before leader-requiring streams end. */
const LEADERLESS_CHECKS = 3;

/** What the clocks drive: the member as Node shows it. */
export interface ClockedMember {
  readonly config: ServeConfig;
  readonly sm: StateMachine;
  readonly proposer: RaftProposer;
  readonly log: Logger;
  readonly hasLeader: boolean;
  /** Leader-requiring streams, each by the function that ends it (see Node.leaderRequired). */
  readonly leaderRequired: Set<(err: Error) => void>;
  syncWatchers(): void;
}

export class MemberClocks {
  readonly #m: ClockedMember;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #revoking = new Set<bigint>();
  #leaderlessChecks = 0;
  #stopped = false;

  constructor(member: ClockedMember) {
    this.#m = member;
  }

  start(): void {
    const { config, sm } = this.#m;
    this.#every(LEASE_EXPIRY_CHECK_MS, () => this.#revokeExpired());
    // etcd's monitorLeader: checked once per election timeout.
    this.#every(config.electionTimeoutMs, () => this.#monitorLeader());
    if (config.leaseCheckpointIntervalMs > 0)
      this.#every(config.leaseCheckpointIntervalMs, () => this.#checkpointLeases());
    if (config.autoCompaction) this.#startCompactor(config.autoCompaction);
    this.#every(WATCH_SYNC_INTERVAL_MS, () => this.#m.syncWatchers());
    this.#every(config.watchProgressNotifyIntervalMs, () => sm.watches.progressNotify());
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
  }

  #every(ms: number, f: () => void): void {
    const t = setInterval(f, ms);
    t.unref();
    this.#timers.push(t);
  }

  #startCompactor(mode: NonNullable<ServeConfig['autoCompaction']>): void {
    const { proposer, sm } = this.#m;
    const compactor = new Compactor(
      {
        isLeader: () => proposer.isLeader,
        revision: () => sm.revision,
        compactRevision: () => sm.compactRevision,
        compact: async (revision) => {
          await proposer.propose({ compaction: { revision: BigInt(revision), physical: false } });
        },
        log: this.#m.log.child({ caller: 'server/compactor' }),
      },
      mode,
    );
    this.#every(compactor.tickMs, () => {
      compactor.tick(Date.now()).catch(() => {});
    });
  }

  #monitorLeader(): void {
    if (this.#m.hasLeader) {
      this.#leaderlessChecks = 0;
      return;
    }
    if (++this.#leaderlessChecks < LEADERLESS_CHECKS) return;
    this.#leaderlessChecks = 0;
    const ends = [...this.#m.leaderRequired];
    this.#m.leaderRequired.clear();
    for (const end of ends) end(new NoLeaderError());
  }

  /** Expired leases are revoked through the Proposer, like any write, so every member agrees. */
  #revokeExpired(): void {
    const { proposer, sm, log } = this.#m;
    if (this.#stopped || !proposer.isLeader) return;
    for (const id of sm.lessor.expired(Date.now(), LEASE_REVOKES_PER_CHECK)) {
      if (this.#revoking.has(id)) continue;
      this.#revoking.add(id);
      if (FAILPOINTS) failpoint('lease-revoke');
      proposer
        .propose({ leaseRevoke: { ID: id } })
        .catch((err: unknown) => {
          if (!(err instanceof LeaseNotFoundError) && !this.#stopped)
            log.warn(`revoking expired lease ${id.toString(16)} failed: ${String(err)}`);
        })
        .finally(() => this.#revoking.delete(id));
    }
  }

  /** The leader records what is left of each lease (applied by every member, see lessor.promote). */
  #checkpointLeases(): void {
    const { proposer, sm, log } = this.#m;
    if (this.#stopped || !proposer.isLeader) return;
    const due = sm.lessor.checkpointsDue(Date.now());
    for (let i = 0; i < due.length; i += LEASE_CHECKPOINTS_PER_REQUEST)
      proposer
        .propose({ leaseCheckpoint: { checkpoints: due.slice(i, i + LEASE_CHECKPOINTS_PER_REQUEST) } })
        .catch((err: unknown) => {
          if (!this.#stopped) log.warn(`lease checkpoint failed: ${String(err)}`);
        });
  }
}
