/**
 * Leader election on etcd's own layout (Go's `concurrency.Election`, `etcdctl elect`): each
 * candidate puts `<name>/<lease id in hex>` with its proposal as value; the key with the
 * lowest create revision under `<name>/` is the leader. Candidates wait on their direct
 * predecessor only. `proclaim()` changes the leader's value without a new election.
 */
import {
  type Client,
  compare,
  EtcdError,
  type KeyValue,
  type Lease,
  type LeaseLostError,
  type Namespace,
  op,
  type Value,
} from '../src/core.js';
import { codedError } from './internal/errors.js';
import { bytesId, keyOf, sameBytes } from './internal/names.js';
import type { LeaseOptions } from './internal/options.js';
import { waitPredecessors, withDeadline } from './internal/wait.js';

/** What `elect()` takes. A lease passed in is not revoked by `resign()`. */
export interface ElectionOptions extends Omit<LeaseOptions, 'keepAlive'> {
  /** This candidate's proposal, published as the leader value once elected. */
  value: Value;
}

/** `proclaim()` was called by a candidate that is not (or no longer) the leader. */
export class ElectionNotLeaderError extends codedError('election-not-leader') {}
/** `campaign()` was not elected within `waitTimeoutMs`; the candidacy was withdrawn. */
export class CampaignTimeoutError extends codedError('campaign-timeout') {}
/**
 * Leadership (or a candidacy, then `campaign()` rejects with it) ended without `resign()`: the
 * candidate's lease was lost (expired, revoked elsewhere) and another candidate may lead now.
 * `election.lost` resolves with it.
 */
export class LeadershipLostError extends codedError('leadership-lost') {}

/** The leader of an election, as `leader()` and `observe()` report it. */
export interface Leader {
  /** The leader's key, `<name>/<lease id hex>`. */
  key: Buffer;
  /** The leader's value: its proposal, or what it last proclaimed. */
  value: Buffer;
  /** The leader key's create revision: it increases with every new leader (a fencing token). */
  createRevision: bigint;
  /** The revision of the value's last change (a proclaim moves it). */
  modRevision: bigint;
  /** The ID of the leader's lease. */
  lease: bigint;
  /** The value as UTF-8 text. */
  text(): string;
}

const toLeader = (kv: KeyValue): Leader => ({
  key: kv.key,
  value: kv.value,
  createRevision: kv.createRevision,
  modRevision: kv.modRevision,
  lease: kv.lease,
  text: () => kv.text(),
});

/**
 * A candidate in a leader election, compatible with Go's `concurrency.Election` and
 * `etcdctl elect`: candidates queue, the oldest leads, and the next takes over when it resigns or
 * its lease is lost. Get one with `elect()`.
 *
 * @example
 * ```ts
 * import { elect } from 'concord-kv/recipes';
 * await using election = elect(client, 'scheduler', { value: hostname() });
 * await election.campaign(); // resolves once we lead
 * runScheduler({ signal: election.signal, fencingToken: election.revision });
 * ```
 */
export class Election {
  /** The election's name: the candidates' keys are under `name/`. */
  readonly name: string;
  readonly #client: Client | Namespace;
  readonly #opts: ElectionOptions;
  readonly #prefix: Buffer;
  #value: Value;
  #lease: Lease | undefined;
  #key: Buffer | undefined;
  #rev = 0n;
  /** Campaign finished and neither resigned nor lost since. */
  #leading = false;
  #ended = new AbortController();
  #lostResolve!: (e: LeadershipLostError) => void;
  /** Resolves (never rejects) if leadership is lost without resigning (the lease was lost). */
  readonly lost: Promise<LeadershipLostError>;

  constructor(client: Client | Namespace, name: string, opts: ElectionOptions) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError(`election name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    this.#client = client;
    this.name = name;
    this.#opts = opts;
    this.#value = opts.value;
    this.#prefix = keyOf(`${name}/`);
    this.lost = new Promise((r) => {
      this.#lostResolve = r;
    });
  }

  /** The key this candidate campaigns with, once `campaign()` has started. */
  get key(): Buffer | undefined {
    return this.#key;
  }
  /** While leader: aborts when leadership ends (resigned or lost). */
  get signal(): AbortSignal {
    return this.#ended.signal;
  }
  /** The create revision of this candidate's key: its term as leader (fencing token). */
  get revision(): bigint {
    return this.#rev;
  }

  /**
   * Joins the election and resolves once this candidate is the leader. Aborting (or the
   * optional wait limit) withdraws the candidacy.
   */
  async campaign(opts: { signal?: AbortSignal; waitTimeoutMs?: number } = {}): Promise<void> {
    const c = this.#client;
    const ownsLease = !this.#opts.lease;
    const lease =
      this.#lease ??
      this.#opts.lease ??
      (await c.lease({
        ttl: this.#opts.ttl ?? c.client.leaseDefaults.ttl ?? 60,
        signal: opts.signal,
        timeoutMs: this.#opts.timeoutMs,
      }));
    this.#lease = lease;
    const key = keyOf(this.#prefix, lease.id.toString(16));
    this.#key = key;
    try {
      const r = await c
        .txn()
        .if(compare.createRevision(key, '==', 0))
        .success(op.put(key, this.#value, { lease }))
        .failure(op.get(key))
        .commit({ signal: opts.signal, timeoutMs: this.#opts.timeoutMs });
      this.#rev = r.header.revision;
      if (!r.succeeded) {
        const kv = (r.responses[0] as { kvs: KeyValue[] }).kvs[0]!;
        this.#rev = kv.createRevision;
        // Resuming a candidacy with another value: publish ours (as Go's Campaign does).
        if (!sameBytes(kv.value, keyOf(this.#value))) {
          await c.put(key, this.#value, { lease, timeoutMs: this.#opts.timeoutMs });
        }
      }
      await withDeadline(
        opts.waitTimeoutMs,
        opts.signal,
        (signal) => waitPredecessors(c, this.#prefix, this.#rev - 1n, signal),
        () =>
          new CampaignTimeoutError(`campaign for ${this.name}: not elected within ${opts.waitTimeoutMs} ms`),
      );
      const still = await c.get(key, { timeoutMs: this.#opts.timeoutMs });
      if (!still || still.createRevision !== this.#rev) {
        throw new LeadershipLostError(
          `campaign for ${this.name}: candidate key disappeared (lease expired?)`,
        );
      }
    } catch (e) {
      await this.#withdraw(ownsLease).catch(() => {});
      throw e;
    }
    this.#ended = new AbortController();
    this.#leading = true;
    const ended = this.#ended;
    lease.lost.then((e: LeaseLostError) => {
      if (ended.signal.aborted) return;
      this.#leading = false;
      const err = new LeadershipLostError(`leadership of ${this.name} lost: ${e.message}`, { cause: e });
      ended.abort(err);
      this.#lostResolve(err);
    });
  }

  /** Publishes a new value as the current leader; throws ElectionNotLeaderError if not leading. */
  async proclaim(value: Value): Promise<void> {
    if (!this.#leading || !this.#key || !this.#lease) {
      throw new ElectionNotLeaderError(`election ${this.name}: not the leader`);
    }
    const r = await this.#client
      .txn()
      .if(compare.createRevision(this.#key, '==', this.#rev))
      .success(op.put(this.#key, value, { lease: this.#lease }))
      .commit({ timeoutMs: this.#opts.timeoutMs });
    if (!r.succeeded) {
      this.#leading = false;
      throw new ElectionNotLeaderError(`election ${this.name}: not the leader`);
    }
    this.#value = value;
  }

  /** Gives up leadership (or candidacy); the next candidate takes over. */
  async resign(): Promise<void> {
    this.#leading = false;
    this.#ended.abort(new EtcdError(`resigned from ${this.name}`, { code: 'resigned' }));
    await this.#withdraw(!this.#opts.lease);
  }

  async #withdraw(ownsLease: boolean): Promise<void> {
    const key = this.#key;
    const lease = this.#lease;
    this.#key = undefined;
    this.#lease = undefined;
    if (!key) return;
    if (ownsLease && lease) await lease.revoke();
    else
      await this.#client
        .txn()
        .if(compare.createRevision(key, '==', this.#rev))
        .success(op.delete(key))
        .commit();
  }

  /** The current leader, or undefined when nobody is leading. */
  async leader(opts: { signal?: AbortSignal } = {}): Promise<Leader | undefined> {
    return currentLeader(this.#client, this.#prefix, opts.signal);
  }

  /** Leader changes as they happen (see `observe()`). */
  observe(opts: { signal?: AbortSignal } = {}): AsyncGenerator<Leader, void, undefined> {
    return observe(this.#client, this.name, opts);
  }

  /** `await using election = elect(...)` resigns at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.resign();
  }
}

async function currentLeader(client: Client | Namespace, prefix: Buffer, signal?: AbortSignal) {
  const r = await client.range({ prefix }, { sort: { target: 'create', order: 'ascend' }, limit: 1, signal });
  const kv = r.kvs[0];
  return kv ? toLeader(kv) : undefined;
}

/** A candidate handle for `name`: call `campaign()` to run. */
export function elect(client: Client | Namespace, name: string, opts: ElectionOptions): Election {
  return new Election(client, name, opts);
}

/**
 * Every leader of `name` as it takes over, and every proclaimed value: first the current
 * leader (if any), then each change. Like Go's `Election.Observe`, gaps with no leader are not
 * reported; the next leader is.
 */
export async function* observe(
  client: Client | Namespace,
  name: string,
  opts: { signal?: AbortSignal } = {},
): AsyncGenerator<Leader, void, undefined> {
  const prefix = keyOf(`${name}/`);
  // A local mirror of the candidates, so that every revision of a batch is judged on its own:
  // a watch that catches up delivers several revisions at once, and judging only the last one
  // would skip a leader or a proclaimed value that lived in between.
  const candidates = new Map<string, KeyValue>();
  const first = await client.range({ prefix }, { signal: opts.signal });
  for (const kv of first.kvs) candidates.set(bytesId(kv.key), kv);
  const leaderOf = (): KeyValue | undefined => {
    let best: KeyValue | undefined;
    for (const kv of candidates.values()) if (!best || kv.createRevision < best.createRevision) best = kv;
    return best;
  };
  let current = leaderOf();
  // One watch on the whole prefix from the revision read: every change after it is seen once.
  const watch = await client.watch(
    { prefix },
    { startRevision: first.header.revision + 1n, signal: opts.signal, timeoutMs: 0 },
  );
  const onAbort = () => watch.cancel();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (current) yield toLeader(current);
    for await (const batch of watch.batches()) {
      const events = batch.events;
      for (let i = 0; i < events.length; i++) {
        const ev = events[i]!;
        const id = bytesId(ev.key);
        if (ev.type === 'put') candidates.set(id, ev.kv);
        else candidates.delete(id);
        // Judge once per revision, after all of its events (a txn may touch several keys).
        if (events[i + 1]?.revision === ev.revision) continue;
        const next = leaderOf();
        if (
          next &&
          (!current ||
            next.createRevision !== current.createRevision ||
            next.modRevision !== current.modRevision)
        ) {
          current = next;
          yield toLeader(next);
        } else if (!next) {
          current = undefined;
        }
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    watch.cancel();
  }
}
