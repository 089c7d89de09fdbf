/**
 * What the leader knows about one follower's log, and how it sends to it:
 * - probe: one MsgApp per heartbeat until the follower's match is found;
 * - replicate: optimistic pipelining, bounded by Inflights;
 * - snapshot: waiting for a snapshot to be installed; nothing else is sent.
 *
 * Invariant: match < next (entries up to match are known to be on the follower).
 */
import { Inflights } from './inflights.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match: number;
  next: number;
  state: ProgressState = 'probe';
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum (the leader steps down without a quorum of these). */
  recentActive = false;
  /** Probe: one message sent, wait for a response or heartbeat. Replicate: inflights full. */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(opts: {
    match: number;
    next: number;
    maxInflight: number;
    maxInflightBytes: number;
    isLearner: boolean;
  }) {
    this.match = opts.match;
    this.next = opts.next;
    this.inflights = new Inflights(opts.maxInflight, opts.maxInflightBytes);
    this.isLearner = opts.isLearner;
  }

  #resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume probing after it: the follower has it unless it reported failure.
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.#resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.#resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.#resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** A MsgApp carrying `entries` entries from `nextIndex` (`bytes` bytes) was sent. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        const last = this.next + entries - 1;
        this.next = last + 1; // optimistic: pipelining
        this.inflights.add(last, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'probe') {
      if (entries > 0) this.msgAppFlowPaused = true;
    }
  }

  /** An acknowledgement up to n arrived. Returns false if it was stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the MsgApp at index `rejected` arrived, with the follower's hint. Returns
   * false if the rejection is stale (answers an older message).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
      case 'replicate':
        return this.msgAppFlowPaused;
      case 'snapshot':
        return true;
    }
  }
}
