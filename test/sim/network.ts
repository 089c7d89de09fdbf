/**
 * The simulated network: every message gets a delay drawn from the run's rng (so messages
 * reorder), may be duplicated, and is dropped at delivery time if a partition blocks its path,
 * the random loss rate hits it, or a scenario's filter refuses it.
 */
import type { Message, NodeId } from '../../src/raft/index.js';
import type { SeededRng } from '../../src/raft/rng.js';

export interface NetworkOptions {
  /** Probability that a message is lost (0..0.3 in random runs). */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  dupRate: number;
  minDelay: number;
  maxDelay: number;
}

export class Network {
  opts: NetworkOptions;
  readonly #rng: SeededRng;
  /** Blocked directed links "from>to". */
  readonly blocked = new Set<string>();
  /** Scenario hook: return false to drop a message. */
  filter: ((m: Message) => boolean) | undefined;
  /** Scenario hook: replace a message on delivery (e.g. strip some entries), undefined drops it. */
  rewrite: ((m: Message) => Message | undefined) | undefined;
  readonly #queue = new Map<number, Message[]>();
  sent = 0;
  dropped = 0;

  constructor(rng: SeededRng, opts: NetworkOptions) {
    this.#rng = rng;
    this.opts = opts;
  }

  send(m: Message, now: number): void {
    this.sent++;
    this.#enqueue(m, now);
    if (this.opts.dupRate > 0 && this.#rng.chance(this.opts.dupRate)) this.#enqueue(m, now);
  }

  #enqueue(m: Message, now: number): void {
    const { minDelay, maxDelay } = this.opts;
    const at = now + minDelay + this.#rng.int(maxDelay - minDelay + 1);
    const q = this.#queue.get(at);
    if (q) q.push(m);
    else this.#queue.set(at, [m]);
  }

  /** Messages due at `now`, with whether each is delivered. */
  due(now: number): { m: Message; delivered: boolean }[] {
    const q = this.#queue.get(now);
    if (!q) return [];
    this.#queue.delete(now);
    return q.map((sent) => {
      const m = this.rewrite ? this.rewrite(sent) : sent;
      const delivered = m !== undefined && this.canDeliver(m);
      if (!delivered) this.dropped++;
      return { m: m ?? sent, delivered };
    });
  }

  canDeliver(m: Message): boolean {
    if (this.blocked.has(`${m.from}>${m.to}`)) return false;
    if (this.filter && !this.filter(m)) return false;
    return !(this.opts.dropRate > 0 && this.#rng.chance(this.opts.dropRate));
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
  }

  /** Cuts every link between the groups (symmetric). */
  partition(...groups: NodeId[][]): void {
    for (const g of groups) {
      for (const h of groups) {
        if (g === h) continue;
        for (const a of g) for (const b of h) this.block(a, b);
      }
    }
  }

  isolate(id: NodeId, all: readonly NodeId[]): void {
    this.partition(
      [id],
      all.filter((x) => x !== id),
    );
  }

  heal(): void {
    this.blocked.clear();
  }
}
