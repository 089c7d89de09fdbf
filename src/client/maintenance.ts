/**
 * The Maintenance service. Most calls are about one member, so they take an `endpoint` (an
 * index into the client's endpoints or the endpoint string); by default the active one.
 */
import { AlarmRequest_AlarmAction, AlarmType, type StatusResponse } from '../gen/etcdserverpb/rpc.js';
import { MaintenanceDefinition } from '../gen/services.js';
import { type CallOptions, CallScope } from './call-options.js';
import type { Connections } from './connections.js';
import { EtcdError, toEtcdError } from './errors.js';
import { header, type ResponseHeader } from './kv.js';

/** Call options of maintenance calls that are about one member. */
export interface MemberCallOptions extends CallOptions {
  /** Which member to ask: an index into the client's endpoints, or one of them. */
  endpoint?: number | string;
}

/** One member's view of itself and the cluster, as `client.maintenance.status()` returns it. */
export interface Status {
  /** The member that answered and its revision. */
  header: ResponseHeader;
  /** The server's version string. */
  version: string;
  /** The store's size in bytes. */
  dbSize: bigint;
  /** The bytes of the store in use. */
  dbSizeInUse: bigint;
  /** Member ID of the leader as this member sees it (0n: none). */
  leader: bigint;
  /** The member's last raft log index. */
  raftIndex: bigint;
  /** The member's raft term. */
  raftTerm: bigint;
  /** The last raft index the member has applied. */
  raftAppliedIndex: bigint;
  /** Alarms and errors the member reports. */
  errors: string[];
  /** Whether the member is a learner (not voting). */
  isLearner: boolean;
}

/**
 * An alarm raised on a member: `nospace` when the store reached its quota (writes are refused
 * until it is disarmed), `corrupt` when members' hashes disagree.
 */
export interface Alarm {
  /** The member that raised it. */
  memberId: bigint;
  /** The alarm. */
  alarm: 'nospace' | 'corrupt' | 'none';
}

const ALARM_NAME: Record<number, Alarm['alarm']> = {
  [AlarmType.NONE]: 'none',
  [AlarmType.NOSPACE]: 'nospace',
  [AlarmType.CORRUPT]: 'corrupt',
};

const status = (r: StatusResponse): Status => ({
  header: header(r.header),
  version: r.version,
  dbSize: r.dbSize,
  dbSizeInUse: r.dbSizeInUse,
  leader: r.leader,
  raftIndex: r.raftIndex,
  raftTerm: r.raftTerm,
  raftAppliedIndex: r.raftAppliedIndex,
  errors: r.errors,
  isLearner: r.isLearner,
});

/**
 * Operations on members, as `client.maintenance`: status, alarms, defragment, hash, leadership
 * transfer and snapshots. Most take `endpoint` to ask one member rather than the active one.
 */
export class Maintenance {
  readonly #conns: Connections;
  /** @internal */
  constructor(conns: Connections) {
    this.#conns = conns;
  }

  #endpoint(e: MemberCallOptions['endpoint']): number | undefined {
    if (e === undefined) return undefined;
    const i = typeof e === 'number' ? e : this.#conns.endpoints.indexOf(e);
    if (i < 0 || i >= this.#conns.endpoints.length) {
      throw new TypeError(
        `unknown endpoint ${JSON.stringify(e)}: not one of ${JSON.stringify(this.#conns.endpoints)}`,
      );
    }
    return i;
  }

  /** Calls one member, without failover when a particular member was asked for. */
  async #member<T>(
    opts: MemberCallOptions | undefined,
    kind: 'read' | 'write',
    f: (i: number, s: AbortSignal) => Promise<T>,
  ) {
    const target = this.#endpoint(opts?.endpoint);
    if (target === undefined) return this.#conns.unary(kind, opts, f);
    const scope = new CallScope(opts, this.#conns.settings.timeoutMs, this.#conns.closeSignal);
    try {
      return await f(target, scope.signal);
    } catch (e) {
      if (scope.signal.aborted) throw scope.abortError();
      throw toEtcdError(e);
    } finally {
      scope.dispose();
    }
  }

  /** One member's status (the active endpoint unless `endpoint` is given). */
  async status(opts?: MemberCallOptions): Promise<Status> {
    const r = await this.#member(opts, 'read', (i, signal) =>
      this.#conns.client(MaintenanceDefinition, i).status({}, { signal }),
    );
    return status(r);
  }

  /**
   * The hash of one member's key-value history up to `revision` (0: all of it): members that
   * agree on the history give the same hash.
   */
  async hashKV(revision = 0n, opts?: MemberCallOptions) {
    const r = await this.#member(opts, 'read', (i, signal) =>
      this.#conns.client(MaintenanceDefinition, i).hashKV({ revision }, { signal }),
    );
    return { header: header(r.header), hash: r.hash, compactRevision: r.compactRevision };
  }

  /** Defragments one member's store. */
  async defragment(opts?: MemberCallOptions): Promise<void> {
    await this.#member(opts, 'write', (i, signal) =>
      this.#conns.client(MaintenanceDefinition, i).defragment({}, { signal }),
    );
  }

  /** Transfers leadership; must be sent to the current leader. */
  async moveLeader(targetId: bigint, opts?: MemberCallOptions): Promise<void> {
    await this.#member(opts, 'write', (i, signal) =>
      this.#conns.client(MaintenanceDefinition, i).moveLeader({ targetID: targetId }, { signal }),
    );
  }

  /** Every alarm raised in the cluster. */
  async alarms(opts?: CallOptions): Promise<Alarm[]> {
    const r = await this.#conns.unary('read', opts, (i, signal) =>
      this.#conns
        .client(MaintenanceDefinition, i)
        .alarm({ action: AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE }, { signal }),
    );
    return r.alarms.map((a) => ({ memberId: a.memberID, alarm: ALARM_NAME[a.alarm] ?? 'none' }));
  }

  /** Disarms an alarm (after freeing space, for `nospace`). */
  async disarm(alarm: Alarm, opts?: CallOptions): Promise<void> {
    const type =
      alarm.alarm === 'nospace'
        ? AlarmType.NOSPACE
        : alarm.alarm === 'corrupt'
          ? AlarmType.CORRUPT
          : AlarmType.NONE;
    await this.#conns.unary('write', opts, (i, signal) =>
      this.#conns
        .client(MaintenanceDefinition, i)
        .alarm(
          { action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: alarm.memberId, alarm: type },
          { signal },
        ),
    );
  }

  /** Streams a snapshot of the member's backend; chunks are yielded as they arrive. */
  async *snapshot(opts?: MemberCallOptions): AsyncGenerator<Buffer, void, undefined> {
    const i = this.#endpoint(opts?.endpoint) ?? this.#conns.active;
    const scope = new CallScope(
      { signal: opts?.signal, timeoutMs: opts?.timeoutMs ?? 0 },
      0,
      this.#conns.closeSignal,
    );
    try {
      for await (const r of this.#conns
        .client(MaintenanceDefinition, i)
        .snapshot({}, { signal: scope.signal })) {
        yield r.blob;
      }
    } catch (e) {
      if (scope.signal.aborted) throw scope.abortError();
      const err = toEtcdError(e);
      throw err instanceof EtcdError ? err : e;
    } finally {
      scope.dispose();
    }
  }
}
