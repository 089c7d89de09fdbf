/**
 * The member's side of a shared snapshot store (--snapshot-store): while it leads, each new
 * local snapshot is offered for upload (in the background, once per index per cluster), and a
 * member that becomes leader offers its newest one, so the store keeps up across leader changes.
 * Followers upload nothing: one copy per index is enough, and the leader's is committed state.
 */
import { asLogger, type Logger, type LogSink } from '../../log.js';
import type { FileSnapshotStore, SnapshotMeta, SnapshotSource, SnapshotStore } from '../../storage/index.js';
import { SnapshotUploader } from '../../storage/index.js';
import type { ServerMetrics } from '../metrics.js';

export interface SnapshotSharingOptions {
  clusterId: bigint;
  memberId: bigint;
  retain: number;
  isLeader: () => boolean;
  /** Where sharing logs (a Logger, or a function given each line's text). */
  log: LogSink;
  metrics: ServerMetrics;
}

export class SnapshotSharing {
  readonly uploader: SnapshotUploader;
  readonly #shared: SnapshotStore;
  readonly #local: FileSnapshotStore;
  readonly #o: SnapshotSharingOptions;

  constructor(shared: SnapshotStore, local: FileSnapshotStore, o: SnapshotSharingOptions) {
    this.#shared = shared;
    this.#local = local;
    this.#o = o;
    this.uploader = new SnapshotUploader(shared, {
      retain: o.retain,
      log: o.log,
      onUploaded: (info) => {
        o.metrics.storeUploads.inc();
        asLogger(o.log).info(
          `uploaded snapshot at index ${info.index} to the ${shared.kind} snapshot store`,
          {
            index: info.index,
          },
        );
      },
      onFailure: () => o.metrics.storeUploadFailures.inc(),
    });
  }

  /** A new local snapshot is durable. */
  offer(meta: SnapshotMeta): void {
    if (!this.#o.isLeader()) return;
    const { clusterId, memberId, term, index, membership } = meta;
    this.uploader.offer(
      { clusterId, memberId, term, index, membership },
      async () => (await this.#local.open(meta.id)) as SnapshotSource,
    );
  }

  /** This member just became leader: its newest snapshot may be newer than the store's. */
  async offerNewest(): Promise<void> {
    const m = await this.#local.latest({ clusterId: this.#o.clusterId, memberId: this.#o.memberId });
    if (m) this.offer(m);
  }

  async close(): Promise<void> {
    await this.uploader.close();
    await this.#shared.close();
  }
}

/** What sharing needs of the raft loop: whether it leads, and word when that changes. */
export interface LeaderRole {
  readonly isLeader: boolean;
  onRoleChange: ((leader: boolean) => void) | undefined;
}

/** Starts sharing this member's snapshots through `shared` while it leads. */
export function shareSnapshots(
  shared: SnapshotStore,
  local: FileSnapshotStore,
  role: LeaderRole,
  o: Omit<SnapshotSharingOptions, 'isLeader' | 'log'> & { log: Logger },
): SnapshotSharing {
  const sharing = new SnapshotSharing(shared, local, {
    ...o,
    isLeader: () => role.isLeader,
    log: o.log.child({ caller: 'server/snapshot-sharing' }),
  });
  role.onRoleChange = (leader) => {
    if (leader) sharing.offerNewest().catch((err: unknown) => o.log.warn(String(err)));
  };
  return sharing;
}
