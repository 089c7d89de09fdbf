/**
 * The member's Raft host loop (RaftProposer) over the recovered state, with the member's flags:
 * timings, snapshot counts, request limits, and TLS for its peers.
 */

import type { Logger } from '../../log.js';
import type { SnapshotMeta } from '../../storage/index.js';
import type { ServerMetrics } from '../metrics.js';
import { RaftProposer } from '../raft/raft-proposer.js';
import type { ServeConfig } from './config.js';
import type { MemberIdentity } from './discovery.js';
import type { MemberRecovered } from './member-recovery.js';
import { channelCredentialsFor, type MemberTls } from './tls.js';

/** What the loop reports to the member, and what it uses of it. */
export interface RaftHooks {
  metrics: ServerMetrics;
  tls: MemberTls;
  log: Logger;
  onApplied: () => void;
  onSnapshotSaved: (meta: SnapshotMeta) => void;
}

export function startRaft(
  config: ServeConfig,
  rec: MemberRecovered,
  identity: MemberIdentity,
  hooks: RaftHooks,
): RaftProposer {
  return new RaftProposer(rec, {
    memberId: identity.memberId,
    clusterId: identity.clusterId,
    name: config.name,
    clientUrls: config.advertiseClientUrls,
    heartbeatMs: config.heartbeatIntervalMs,
    electionMs: config.electionTimeoutMs,
    snapshotCount: config.snapshotCount,
    snapshotCatchUpEntries: config.snapshotCatchUpEntries,
    maxRequestBytes: config.maxRequestBytes,
    fresh: rec.fresh,
    onApplied: hooks.onApplied,
    onSnapshotSaved: hooks.onSnapshotSaved,
    log: hooks.log.child({ caller: 'server/raft-proposer' }),
    warningApplyDurationMs: config.warningApplyDurationMs,
    metrics: hooks.metrics,
    peerCredentials: (url) => channelCredentialsFor(url, hooks.tls.peer),
    peerTlsOptions: () => hooks.tls.peer?.connectOptions() ?? {},
  });
}
