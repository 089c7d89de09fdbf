/**
 * The member's state at start: its data dir recovered (snapshot, then the WAL after it), or —
 * for an empty member with a shared snapshot store — bootstrapped from the store's newest
 * snapshot. Then what was recovered is logged, once the member runs.
 */
import type { Logger } from '../../log.js';
import { openSnapshotStore, type SnapshotStore } from '../../storage/index.js';
import type { ServerMetrics } from '../metrics.js';
import type { ServeConfig } from './config.js';
import type { MemberIdentity } from './discovery.js';
import { recover } from './recover.js';

export type MemberRecovered = Awaited<ReturnType<typeof recover>>;

/** The recovered state and the shared snapshot store (--snapshot-store), open if configured. */
export async function recoverState(
  config: ServeConfig,
  identity: MemberIdentity,
  log: Logger,
): Promise<{ rec: MemberRecovered; shared: SnapshotStore | undefined }> {
  const shared = config.snapshotStore ? openSnapshotStore(config.snapshotStore) : undefined;
  try {
    const rec = await recover(config.dataDir, {
      smOptions: {
        quotaBytes: config.quotaBackendBytes,
        maxTxnOps: config.maxTxnOps,
        fragmentBytes: config.maxRequestBytes,
      },
      clusterId: identity.clusterId,
      memberId: identity.memberId,
      founding: identity.founding,
      initialClusterState: config.initialClusterState,
      shared,
      log: log.child({ caller: 'server/recover' }),
    });
    return { rec, shared };
  } catch (err) {
    await shared?.close();
    throw err;
  }
}

/** Says where the member started from: a shared-store snapshot, or its own snapshot and WAL. */
export function reportRecovery(
  rec: MemberRecovered,
  shared: SnapshotStore | undefined,
  metrics: ServerMetrics,
  log: Logger,
): void {
  if (rec.bootstrapped) {
    metrics.storeBootstrapIndex.set(rec.bootstrapped.index);
    log.info(
      `started from snapshot ${rec.bootstrapped.id} at index ${rec.bootstrapped.index} of the ${shared?.kind} snapshot store; catching up from the leader's log`,
      { index: rec.bootstrapped.index },
    );
  }
  if (!rec.fresh)
    log.info(
      `recovered snapshot ${rec.snapshotIndex} with ${rec.entries.length} WAL entries after it (commit ${rec.hardState.commit})`,
      { index: rec.snapshotIndex, entries: rec.entries.length, commit: rec.hardState.commit },
    );
}
