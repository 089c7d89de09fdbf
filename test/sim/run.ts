/**
 * One random simulation run, reproducible from its seed (TigerBeetle VOPR style):
 * 1. options drawn from the seed (cluster size, learners, loss, delays, flow-control limits,
 *    snapshot frequency, PreVote/CheckQuorum) and printed with any failure;
 * 2. a safety phase: clients issue get/put/CAS while the run crashes and restarts members
 *    (sometimes mid-Ready, losing the write that was not yet synced), partitions the network (symmetric,
 *    one-way, leader isolated), changes membership and transfers leadership; invariants are
 *    checked after every Ready;
 * 3. a liveness phase: faults heal; a leader must emerge and a fresh proposal must be applied
 *    by every member within LIVENESS_TICKS; members' state machines must then agree;
 * 4. the client history must be linearizable.
 */
import type { ConfChange, NodeId, RaftConfig, RawNode } from '../../src/raft/index.js';
import { SeededRng } from '../../src/raft/rng.js';
import { Cluster, type ClusterOptions, DEFAULT_CLUSTER_OPTIONS } from './cluster.js';
import { InvariantViolation } from './invariants.js';
import { checkOperations, type KvInput, kvModel } from './linearizability.js';

/** Ticks of the safety phase. */
export const SAFETY_TICKS = 300;
/** Ticks a healed cluster may go without any member applying anything new. */
export const LIVENESS_TICKS = 200;
/** Bound on the whole liveness phase, however steady its progress. */
export const LIVENESS_MAX_TICKS = 2000;
/** Ticks a client waits for an answer before giving up (the outcome becomes unknown). */
export const CLIENT_TIMEOUT_TICKS = 30;
const CLIENTS = 3;
const KEYS = ['a', 'b', 'c'];
const MAX_MEMBERS = 7;
/** The core's refusal of a commit index past its log (RaftLog.commitTo). */
const LOST_LOG = /^tocommit\(\d+\) is out of range \[lastIndex\(\d+\)\]/;

export interface RunResult {
  seed: number;
  ok: boolean;
  /** 'invariant', 'liveness', 'convergence', 'linearizability' or 'crash' on failure. */
  failure?: string;
  message?: string;
  options: string;
  stats: {
    ticks: number;
    ops: number;
    messages: number;
    elections: number;
    snapshots: number;
    snapshotInstalls: number;
    confChanges: number;
  };
  trace?: string[];
}

export interface RunOverrides {
  makeNode?: (config: RaftConfig) => RawNode;
  /** Run the production step with the mutation `follower-ack-before-persist`. */
  ackBeforePersist?: boolean;
  trace?: boolean;
  safetyTicks?: number;
}

export function drawOptions(seed: number): ClusterOptions {
  const r = new SeededRng(seed ^ 0x2545f491);
  const voters = r.chance(0.5) ? 3 : 5;
  return {
    ...DEFAULT_CLUSTER_OPTIONS,
    seed,
    voters,
    learners: r.chance(0.4) ? 1 : 0,
    preVote: r.chance(0.8),
    checkQuorum: r.chance(0.8),
    maxSizePerMsg: r.chance(0.5) ? 1 : 1024 * 1024, // 1 byte = one entry per MsgApp
    maxInflightMsgs: r.pick([1, 2, 4, 256]),
    snapshotEvery: r.pick([5, 10, 30, 1000]),
    compactKeep: r.pick([0, 2, 5]),
    diskRate: r.pick([1, 0.8, 0.5]),
    network: {
      dropRate: r.pick([0, 0.05, 0.1, 0.2, 0.3]),
      dupRate: r.pick([0, 0.05, 0.2]),
      minDelay: 1,
      maxDelay: r.pick([2, 4, 8, 16]),
    },
  };
}

export function describeOptions(o: ClusterOptions): string {
  return (
    `voters=${o.voters} learners=${o.learners} preVote=${o.preVote} checkQuorum=${o.checkQuorum} ` +
    `maxSizePerMsg=${o.maxSizePerMsg} maxInflight=${o.maxInflightMsgs} snapshotEvery=${o.snapshotEvery} ` +
    `compactKeep=${o.compactKeep} diskRate=${o.diskRate} drop=${o.network.dropRate} dup=${o.network.dupRate} ` +
    `delay=${o.network.minDelay}..${o.network.maxDelay}`
  );
}

export function runSeed(seed: number, over: RunOverrides = {}): RunResult {
  const opts = drawOptions(seed);
  if (over.makeNode) opts.makeNode = over.makeNode;
  if (over.ackBeforePersist) opts.ackBeforePersist = true;
  const c = new Cluster(opts);
  c.traceEnabled = over.trace ?? false;
  const r = new SeededRng(seed ^ 0x68e31da4);
  const stats = {
    ticks: 0,
    ops: 0,
    messages: 0,
    elections: 0,
    snapshots: 0,
    snapshotInstalls: 0,
    confChanges: 0,
  };
  const result = (failure?: string, message?: string): RunResult => {
    stats.messages = c.net.sent;
    stats.snapshots = c.snapshots;
    stats.snapshotInstalls = c.snapshotsSent;
    stats.elections = c.inv.elections;
    stats.ops = c.completedHistory().length;
    return {
      seed,
      ok: failure === undefined,
      failure,
      message,
      options: describeOptions(opts),
      stats,
      trace: over.trace ? c.trace : undefined,
    };
  };
  let valueSeq = 0;
  const randomInput = (): KvInput => {
    const key = r.pick(KEYS);
    const k = r.int(10);
    if (k < 4) return { kind: 'get', key };
    if (k < 8) return { kind: 'put', key, value: `v${++valueSeq}` };
    return {
      kind: 'cas',
      key,
      expected: r.chance(0.3) ? null : `v${Math.max(1, valueSeq - r.int(3))}`,
      value: `v${++valueSeq}`,
    };
  };

  try {
    // ---- safety phase ----
    const safetyTicks = over.safetyTicks ?? SAFETY_TICKS;
    for (let t = 0; t < safetyTicks; t++) {
      for (let u = 0; u < opts.tickEvery; u++) {
        for (let cl = 0; cl < CLIENTS; cl++) {
          if (!c.clientBusy(cl) && r.chance(0.15)) {
            const up = c.upIds();
            if (up.length > 0) c.invoke(cl, r.pick(up), randomInput(), CLIENT_TIMEOUT_TICKS);
          }
        }
        c.step();
      }
      stats.ticks++;
      // faults
      const ids = c.ids().filter((id) => !c.node(id).removed);
      const down = ids.filter((id) => !c.node(id).up);
      for (const id of down) {
        const n = c.node(id);
        if (n.restartAt <= c.now) c.restart(id);
      }
      if (r.chance(0.02) && down.length < 2) {
        const victim = r.pick(ids);
        const n = c.node(victim);
        n.restartAt = c.now + (5 + r.int(60)) * opts.tickEvery;
        if (r.chance(0.5)) n.crashMidWrite = true;
        else c.crash(victim);
      }
      if (r.chance(0.02)) {
        const kind = r.int(4);
        const l = c.leader();
        if (kind === 0 && l) c.net.isolate(l.id, ids);
        else if (kind === 1) {
          const shuffled = [...ids].sort(() => r.next() - 0.5);
          const cut = 1 + r.int(shuffled.length - 1);
          c.net.partition(shuffled.slice(0, cut), shuffled.slice(cut));
        } else if (kind === 2) {
          c.net.block(r.pick(ids), r.pick(ids));
        } else if (l) {
          // a leader partitioned with a minority
          const others = ids.filter((x) => x !== l.id);
          const minority = others.slice(0, Math.max(0, Math.floor(ids.length / 2) - 1));
          c.net.partition([l.id, ...minority], others.slice(minority.length));
        }
      }
      if (r.chance(0.03)) c.net.heal();
      if (r.chance(0.03)) {
        const l = c.leader();
        if (l) {
          const cs = l.confState;
          const choice = r.int(4);
          let cc: ConfChange | undefined;
          const total = cs.voters.length + cs.learners.length;
          if (choice === 0 && total < MAX_MEMBERS) {
            const fresh = c.addProcess();
            cc = { type: 'addLearnerNode', nodeId: fresh.id };
          } else if (choice === 1 && cs.learners.length > 0) {
            cc = { type: 'addNode', nodeId: r.pick(cs.learners) };
          } else if (choice === 2 && cs.voters.length > 3) {
            cc = { type: 'removeNode', nodeId: r.pick(cs.voters) }; // may be the leader itself
          } else if (choice === 3 && cs.learners.length > 0) {
            cc = { type: 'removeNode', nodeId: r.pick(cs.learners) };
          }
          if (cc && c.proposeConfChange(l.id, cc)) stats.confChanges++;
        }
      }
      if (r.chance(0.02)) {
        const l = c.leader();
        const cs = l?.confState;
        if (l && cs && cs.voters.length > 1) {
          const target = r.pick(cs.voters.filter((v: NodeId) => v !== l.id));
          l.rn!.transferLeader(target);
        }
      }
    }

    // ---- liveness phase ----
    c.net.heal();
    c.net.opts = { ...c.net.opts, dropRate: 0, dupRate: 0 };
    for (const id of c.ids()) {
      const n = c.node(id);
      n.crashMidWrite = false;
      if (!n.removed && !n.up) c.restart(id);
    }
    c.abandonClients();
    const start = c.now;
    const markerId = c.newOpId();
    // Liveness is progress, not speed: a healed cluster must commit a new proposal, and every
    // member of the configuration must reach the leader's commit index, and the run fails only
    // when LIVENESS_TICKS pass with no step toward that (no member applying anything new). A
    // learner catching up one entry per round trip (maxInflight 1, one-entry messages, a slow
    // disk) can need longer than LIVENESS_TICKS in all while never stalling (seed 1662514235).
    let applied = -1;
    let lastProgress = c.now;
    const done =
      c.runUntil(() => {
        let total = 0;
        for (const id of c.ids()) total += c.node(id).applied;
        if (total !== applied) {
          applied = total;
          lastProgress = c.now;
        }
        if (c.now - lastProgress > LIVENESS_TICKS * opts.tickEvery) return true;
        const l = c.leader();
        if (!l) return false;
        const cs = l.confState;
        const inConf = new Set<NodeId>([...cs.voters, ...cs.learners]);
        if (!l.kv.results.has(markerId)) {
          if ((c.now - start) % (opts.tickEvery * 5) === 0) c.propose(l.id, { op: 'marker', id: markerId });
          return false;
        }
        const commit = l.rn!.raft.raftLog.committed;
        for (const id of inConf) {
          const n = c.node(id);
          if (!n.up || n.applied < commit) return false;
        }
        return true;
      }, LIVENESS_MAX_TICKS) && c.now - lastProgress <= LIVENESS_TICKS * opts.tickEvery;
    if (!done) {
      const l = c.leader();
      const state = c
        .ids()
        .map((id) => {
          const n = c.node(id);
          const s = n.rn?.status();
          return `${id}:${n.removed ? 'removed' : n.up ? `${s!.role},t${s!.term},c${s!.commit},a${s!.applied},lead${s!.lead}` : 'down'}`;
        })
        .join(' ');
      return result(
        'liveness',
        `${
          c.now - lastProgress > LIVENESS_TICKS * opts.tickEvery
            ? `no progress within ${LIVENESS_TICKS} ticks`
            : `not caught up within ${LIVENESS_MAX_TICKS} ticks`
        } after healing (leader ${l?.id ?? 'none'}); ${state}`,
      );
    }
    stats.ticks += Math.ceil((c.now - start) / opts.tickEvery);
    // convergence: every member in the configuration holds the same state at the same index
    const l = c.leader()!;
    const cs = l.confState;
    const dumps = new Map<string, NodeId[]>();
    for (const id of [...cs.voters, ...cs.learners]) {
      const n = c.node(id);
      const d = `${n.applied}:${n.kv.dump()}`;
      dumps.set(d, [...(dumps.get(d) ?? []), id]);
    }
    if (dumps.size > 1)
      return result(
        'convergence',
        `members disagree: ${[...dumps.values()].map((g) => g.join(',')).join(' vs ')}`,
      );
  } catch (e) {
    if (e instanceof InvariantViolation) return result('invariant', e.message);
    // The leader tells a follower a commit index no higher than what that follower acknowledged;
    // a follower whose log ends below it lost entries it acknowledged (etcd's raft panics alike).
    if (e instanceof Error && LOST_LOG.test(e.message))
      return result('invariant', `durability: a member lost entries it acknowledged (${e.message})`);
    return result('crash', e instanceof Error ? (e.stack ?? e.message) : String(e));
  }
  const lin = checkOperations(kvModel, c.completedHistory());
  if (!lin.ok) return result('linearizability', `history not linearizable:\n  ${lin.failing!.join('\n  ')}`);
  return result();
}

export function formatFailure(r: RunResult): string {
  return `seed ${r.seed} FAILED (${r.failure}): ${r.message}\n  options: ${r.options}\n  replay: npm run sim -- --seed ${r.seed}`;
}
