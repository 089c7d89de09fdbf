/**
 * Applies committed entries to the member: client requests to the state machine, publications
 * and peer URL updates to the member list, membership changes through the host. It is the only
 * place that moves the applied index, once per entry, whatever the entry's kind or outcome.
 *
 * An entry that cannot be applied (a bug, or bytes no build of ours wrote) counts as applied and
 * fails its own request; the loop goes on. Every member holds the same bytes and runs the same
 * code, so every member fails it alike and their states stay equal; stopping instead would stop
 * every member at the same entry, and again at each restart.
 */
import { FAILPOINTS, failApply, failpoint } from '../../failpoints.js';
import { type Logger, took } from '../../log.js';
import { type AuthInfo, MvccError, type StateMachine } from '../../mvcc/index.js';
import { type ConfChange, type Entry, RawNode } from '../../raft/index.js';
import { ApplyFailedError, MemberNotFoundError } from '../errors.js';
import type { ServerMetrics } from '../metrics.js';
import { decodeEntry, entryOrigin, type InternalRequest } from './internal-request.js';
import type { Membership } from './membership.js';

/** etcd's --experimental-warning-apply-duration default: an apply slower than this is logged. */
export const SLOW_APPLY_MS = 100;

/** What the applier needs of the member it applies for. */
export interface ApplyHost {
  readonly sm: StateMachine;
  readonly membership: Membership;
  readonly memberId: bigint;
  /** This member's proposal prefix: entries carrying it were proposed here. */
  readonly prefix: number;
  readonly log: Logger;
  readonly metrics: ServerMetrics | undefined;
  readonly warningApplyDurationMs: number | undefined;
  /** Answers the client waiting for proposal `counter` here. */
  settle(counter: number, resp: unknown, error?: unknown): void;
  addPeer(id: bigint, url: string): void;
  /** A committed membership change (it reconfigures the core, which the host owns). */
  applyConfChange(cc: ConfChange): void;
}

export class EntryApplier {
  readonly #host: ApplyHost;

  constructor(host: ApplyHost) {
    this.#host = host;
  }

  /** Applies the entries above the applied index, in order; `now` is the leader-side clock for leases. */
  apply(entries: Entry[], now: number): void {
    const sm = this.#host.sm;
    for (const e of entries) {
      if (e.index <= sm.appliedIndex) continue;
      try {
        this.#applyOne(e, now);
      } catch (err) {
        this.#failed(e, err);
      }
      sm.appliedIndex = e.index;
    }
    this.#host.metrics?.proposalsApplied.set(sm.appliedIndex);
  }

  #applyOne(e: Entry, now: number): void {
    const host = this.#host;
    if (e.type === 'confChange') {
      host.applyConfChange(RawNode.decodeConfChange(e.data));
      return;
    }
    // A new leader's empty entry.
    if (e.data.length === 0) return;
    const d = decodeEntry(e.data);
    const mine = d.prefix === host.prefix;
    if (d.kind === 'publish') {
      host.membership.setAttributes(BigInt(`0x${d.attrs.id}`), d.attrs.name, d.attrs.clientUrls);
      if (mine) host.settle(d.counter, undefined);
      return;
    }
    if (d.kind === 'memberUpdate') {
      const id = BigInt(`0x${d.update.id}`);
      const m = host.membership.members.get(id);
      if (m) {
        m.peerUrls = [...d.update.peerUrls];
        if (id !== host.memberId && m.peerUrls[0]) host.addPeer(id, m.peerUrls[0]);
      }
      if (mine) host.settle(d.counter, undefined, m ? undefined : new MemberNotFoundError());
      return;
    }
    const t0 = performance.now();
    try {
      const resp = this.#execute(e.index, d.req, now, d.auth);
      if (mine) host.settle(d.counter, resp);
    } catch (err) {
      // A request refused by the state machine (etcd's errors) is an answer, not a failure.
      if (!(err instanceof MvccError)) throw err;
      if (mine) host.settle(d.counter, undefined, err);
    } finally {
      this.#logApply(e.index, d.req, performance.now() - t0);
    }
  }

  #execute(index: number, req: InternalRequest, nowMs: number, auth: AuthInfo | undefined): unknown {
    if (FAILPOINTS) {
      failpoint('apply');
      failApply(req);
    }
    return this.#host.sm.apply(index, req, auth ? { nowMs, auth } : { nowMs });
  }

  #failed(e: Entry, err: unknown): void {
    const host = this.#host;
    host.metrics?.applyFailures.inc();
    host.log.error(
      `entry ${e.index} (term ${e.term}) could not be applied; its request fails: ${
        err instanceof Error ? (err.stack ?? err.message) : String(err)
      }`,
      { index: e.index, term: e.term },
    );
    const origin = e.type === 'normal' ? entryOrigin(e.data) : undefined;
    if (origin && origin.prefix === host.prefix)
      host.settle(origin.counter, undefined, new ApplyFailedError(e.index, err));
  }

  /**
   * etcd's apply warnings: "apply request took too long" past --experimental-warning-apply-duration,
   * and each compaction with its revision and duration. Only the request's kind is logged: a
   * request may hold a password or a token.
   */
  #logApply(index: number, req: InternalRequest, ms: number): void {
    const limit = this.#host.warningApplyDurationMs ?? SLOW_APPLY_MS;
    const log = this.#host.log;
    if (ms > limit)
      log.warn('apply request took too long', {
        took: took(ms),
        'expected-duration': took(limit),
        request: Object.keys(req)[0],
        index,
      });
    else if (log.isLevelEnabled('debug'))
      log.debug('applied request', { request: Object.keys(req)[0], index, took: took(ms) });
    if ('compaction' in req)
      log.info('finished scheduled compaction', {
        'compact-revision': Number(req.compaction.revision),
        took: took(ms),
      });
  }
}
