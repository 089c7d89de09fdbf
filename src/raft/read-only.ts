/**
 * Pending ReadIndex requests on the leader (§6.4 of the Raft thesis). Each request records the
 * commit index at its arrival; it is answered once a quorum acknowledges a heartbeat sent after
 * it arrived. Heartbeats carry the context of the newest pending request, and an acknowledgement
 * of a context confirms every request queued before it too, so one heartbeat round answers a
 * whole batch of reads.
 */
import type { Message, NodeId } from './types.js';

export interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  readonly acks: Map<NodeId, boolean>;
}

export function ctxKey(ctx: Uint8Array | undefined): string {
  if (!ctx || ctx.length === 0) return '';
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i]!);
  return s;
}

export class ReadOnly {
  readonly #pending = new Map<string, ReadIndexStatus>();
  #queue: string[] = [];

  get size(): number {
    return this.#queue.length;
  }

  /** Queues a request (m.context identifies it) at the given commit index. */
  addRequest(index: number, m: Message): void {
    const k = ctxKey(m.context);
    if (this.#pending.has(k)) return;
    this.#pending.set(k, { req: m, index, acks: new Map() });
    this.#queue.push(k);
  }

  /** Records an ack of a heartbeat carrying `ctx`; returns the acks so far, if the context is pending. */
  recvAck(id: NodeId, ctx: Uint8Array | undefined): Map<NodeId, boolean> | undefined {
    const rs = this.#pending.get(ctxKey(ctx));
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** Dequeues the request with `ctx` and all before it (they were confirmed by the same quorum). */
  advance(ctx: Uint8Array | undefined): ReadIndexStatus[] {
    const k = ctxKey(ctx);
    const i = this.#queue.indexOf(k);
    if (i < 0) return [];
    const done = this.#queue.slice(0, i + 1);
    this.#queue = this.#queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const key of done) {
      out.push(this.#pending.get(key)!);
      this.#pending.delete(key);
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.#queue.length === 0) return undefined;
    return this.#pending.get(this.#queue[this.#queue.length - 1]!)!.req.context;
  }
}
