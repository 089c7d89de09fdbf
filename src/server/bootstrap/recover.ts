/**
 * Rebuilds a member's state from its data dir: the newest local snapshot (if any) restores the
 * state machine, then the WAL entries after the snapshot's applied index are applied in order.
 * The applied index travels inside the snapshot, so entries the snapshot already covers are
 * skipped: replay is idempotent however often it runs.
 *
 *   <data-dir>/wal    the write-ahead log (src/storage Wal)
 *   <data-dir>/snap   the file snapshot store
 */
import path from 'node:path';
import { asLogger, type LogSink } from '../../log.js';
import { restore, StateMachine, type StateMachineOptions, snapshot } from '../../mvcc/index.js';
import {
  FileSnapshotStore,
  type SnapshotInfo,
  type SnapshotMeta,
  type SnapshotSource,
  type SnapshotStore,
  Wal,
  type WalContents,
} from '../../storage/index.js';
import { memberFault } from '../errors.js';
import { Membership } from '../raft/membership.js';
import type { RaftRecovered } from '../raft/raft-proposer.js';

export class RecoveryError extends memberFault('recovery', 'cannot recover the data dir') {}

export interface RaftRecoveryOptions {
  smOptions: StateMachineOptions;
  clusterId: bigint;
  memberId: bigint;
  /** The membership of a new cluster, used only when the data dir is empty and state is new. */
  founding: () => Membership;
  initialClusterState: 'new' | 'existing';
  /**
   * The shared snapshot store (--snapshot-store): a member joining with an empty data dir starts
   * from the cluster's newest snapshot there, and catches up from the leader's log after it.
   */
  shared?: SnapshotStore;
  /** Where recovery logs (a Logger, or a function given each line's text). */
  log?: LogSink;
}

/**
 * Makes `data` the starting point of a data dir: the snapshot in the local store, the WAL's
 * snapshot marker and a hard state that commits it, so a start finds what a restart would.
 */
async function seed(
  snapshots: FileSnapshotStore,
  wal: Wal,
  info: SnapshotInfo,
  data: SnapshotSource,
): Promise<SnapshotMeta> {
  const meta = await snapshots.save(info, data);
  await wal.saveSnapshot({ index: info.index, term: info.term });
  await wal.save({ term: info.term, vote: 0n, commit: info.index });
  return meta;
}

/**
 * Writes a new data dir holding `data` as its only snapshot (`concord snapshot restore`).
 * Refuses a data dir that already holds a WAL or snapshots.
 */
export async function initDataDir(
  dataDir: string,
  info: SnapshotInfo,
  data: SnapshotSource,
): Promise<SnapshotMeta> {
  const snapshots = new FileSnapshotStore(path.join(dataDir, 'snap'));
  const wal = await Wal.open(path.join(dataDir, 'wal'));
  try {
    const c = wal.readAll();
    if ((await snapshots.list()).length > 0 || c.entries.length > 0 || c.snapshot || c.hardState)
      throw new RecoveryError(`${dataDir} already holds a member's data: restore into a new directory`);
    return await seed(snapshots, wal, info, data);
  } finally {
    await wal.close();
    await snapshots.close();
  }
}

/**
 * Rebuilds what a Raft member needs from its data dir: the state machine from the newest local
 * snapshot (not from the WAL: only committed entries may be applied, and the core hands those
 * back in order), the log after the snapshot, the hard state and the membership.
 *
 * A founding member of a new cluster starts from a bootstrap snapshot at index 1 (term 1, the
 * initial configuration, empty state), written before it serves, so every start looks the same.
 */
export async function recover(
  dataDir: string,
  o: RaftRecoveryOptions,
): Promise<RaftRecovered & { fresh: boolean; bootstrapped?: SnapshotMeta }> {
  const snapshots = new FileSnapshotStore(path.join(dataDir, 'snap'));
  const filter = { clusterId: o.clusterId, memberId: o.memberId };
  const wal = await Wal.open(path.join(dataDir, 'wal'));
  try {
    const contents = wal.readAll();
    const stored = await snapshots.list(filter);
    let latest = stored.find((s) => walFollows(contents, s));
    if (!latest && stored.length > 0) {
      const newest = stored[0]!;
      throw new RecoveryError(
        contents.snapshot && contents.snapshot.index > newest.index
          ? `the WAL starts after a snapshot at index ${contents.snapshot.index}, but the newest snapshot in ${snapshots.dir} is at ${newest.index}`
          : `no snapshot in ${snapshots.dir} is one the WAL continues (the newest is at index ${newest.index}, term ${newest.term})`,
      );
    }
    let fresh = false;
    let bootstrapped: SnapshotMeta | undefined;
    const empty = !latest && contents.entries.length === 0 && !contents.snapshot && !contents.hardState;
    if (empty && o.initialClusterState === 'existing' && o.shared) {
      const remote = await fromShared(o.shared, o.clusterId, o.log);
      // The download is checked (size, SHA-256) before anything reaches the WAL: a failed one
      // leaves the data dir empty, and the leader streams a snapshot instead.
      if (remote)
        try {
          const data = await o.shared.open(remote.id);
          latest = await seed(snapshots, wal, { ...remote, memberId: o.memberId }, data);
          bootstrapped = remote;
        } catch (err) {
          asLogger(o.log).warn(
            `cannot load snapshot ${remote.id} from the ${o.shared.kind} snapshot store (${err instanceof Error ? err.message : String(err)}): the leader will send a snapshot`,
          );
        }
    }
    if (!latest && empty) {
      if (o.initialClusterState === 'new') {
        const membership = o.founding();
        const sm = new StateMachine(o.smOptions);
        sm.appliedIndex = 1;
        latest = await seed(
          snapshots,
          wal,
          {
            clusterId: o.clusterId,
            memberId: o.memberId,
            term: 1,
            index: 1,
            membership: membership.encode(),
          },
          snapshot(sm),
        );
        fresh = true;
      } else {
        // Joining: no state until the leader sends it.
        const membership = o.founding();
        membership.confState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [] };
        return {
          sm: new StateMachine(o.smOptions),
          smOptions: o.smOptions,
          wal,
          snapshots,
          hardState: { term: 0, vote: 0n, commit: 0 },
          snapshotIndex: 0,
          snapshotTerm: 0,
          entries: [],
          membership,
          fresh: false,
        };
      }
    }
    if (!latest)
      throw new RecoveryError(
        `${snapshots.dir} holds no snapshot of member ${o.memberId.toString(16)} in cluster ${o.clusterId.toString(16)} but the WAL is not empty (a data dir of another cluster or of an earlier single-member build?)`,
      );
    const sm = await restore(await snapshots.open(latest.id), o.smOptions);
    if (sm.appliedIndex !== latest.index)
      throw new RecoveryError(
        `snapshot ${latest.id} says index ${latest.index} but holds applied index ${sm.appliedIndex}`,
      );
    const membership = Membership.decode(latest.membership);
    const { hardState } = fresh || bootstrapped ? wal.readAll() : contents;
    const entries = contents.entries.filter((e) => e.index > latest.index);
    if (entries.length > 0 && entries[0]!.index !== latest.index + 1)
      throw new RecoveryError(
        `the WAL continues at index ${entries[0]!.index}, the snapshot is at ${latest.index}: entries are missing`,
      );
    const hs = hardState ?? { term: latest.term, vote: 0n, commit: latest.index };
    return {
      sm,
      smOptions: o.smOptions,
      wal,
      snapshots,
      hardState: {
        term: Math.max(hs.term, latest.term),
        vote: hs.vote,
        commit: Math.max(hs.commit, latest.index),
      },
      snapshotIndex: latest.index,
      snapshotTerm: latest.term,
      entries,
      membership,
      fresh,
      bootstrapped,
    };
  } catch (err) {
    await wal.close();
    throw err;
  }
}

/**
 * Whether the WAL's log continues snapshot `s`: its marker is `s`, or it holds `s`'s own entry,
 * or it has nothing past `s`. A snapshot streamed by a leader is stored before the core accepts
 * it and marked in the WAL only once installed; a member stopped in between has such a snapshot
 * in its store and, past its index, entries of its own older log that do not follow it (raft
 * would have discarded them). Starting from it would put an older term after a newer one: the
 * member would then grant votes on a last term lower than its log's, to a candidate that lacks
 * the snapshot's committed entries. It is passed over (etcd loads only snapshots its WAL
 * records, for the same reason) and the leader sends it again.
 */
function walFollows(c: WalContents, s: SnapshotMeta): boolean {
  if (c.snapshot && c.snapshot.index >= s.index)
    return c.snapshot.index === s.index && c.snapshot.term === s.term;
  const es = c.entries;
  if (es.length === 0 || es[es.length - 1]!.index <= s.index) return true;
  const at = es.find((e) => e.index === s.index);
  return at !== undefined && at.term === s.term;
}

/**
 * The cluster's newest snapshot in the shared store, if the store answers: a database that is
 * away only means the leader streams a snapshot instead.
 */
async function fromShared(
  shared: SnapshotStore,
  clusterId: bigint,
  sink: LogSink | undefined,
): Promise<SnapshotMeta | undefined> {
  const log = asLogger(sink);
  try {
    const m = await shared.latest({ clusterId });
    if (!m)
      log.info(
        `the ${shared.kind} snapshot store holds no snapshot of cluster ${clusterId.toString(16)} yet`,
      );
    return m;
  } catch (err) {
    log.warn(
      `cannot read the ${shared.kind} snapshot store (${err instanceof Error ? err.message : String(err)}): the leader will send a snapshot`,
    );
    return undefined;
  }
}
