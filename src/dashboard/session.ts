/**
 * One viewer's dashboard: an SDK client (its own, logged in as its etcd user, when auth is on),
 * the mirror of what that user may read, and the polled cluster and lease state. Every change
 * is pushed to the viewer's open pages as one new state.
 */

import { type Flags, flags, flagsAdmin, InvalidFlagError } from '../../recipes/index.js';
import { type Client, CompactedError } from '../index.js';
import { ClusterPoller } from './cluster-poll.js';
import { readLeases } from './lease-poll.js';
import { KeyspaceMirror, type MirrorChange } from './mirror.js';
import { callerDefault, documentProblems } from './model/flags.js';
import { type KeysPage, keySummary, type ValueView, valueView } from './model/keys.js';
import type { LeaseView } from './model/leases.js';
import { type ServiceEvent, serviceEvent } from './model/services.js';
import { type DashboardState, dashboardState, holderKeys, type Layout } from './model/state.js';

export interface SessionOptions {
  client: Client;
  /** Key prefixes to mirror ('' is every key). */
  prefixes: string[];
  layout: Layout;
  writable: boolean;
  /** How often the cluster and the leases are read (default 2000 ms). */
  pollMs?: number;
}

const HISTORY = 20;
const EVENTS = 100;

export interface KeyDetails {
  key: string;
  value: ValueView;
  createRevision: string;
  modRevision: string;
  version: string;
  lease: string;
  /** Earlier values, newest first, back to the compaction point (at most 20). */
  history: { modRevision: string; value: ValueView }[];
  /** Whether the history stops at the compaction point rather than the key's creation. */
  compacted: boolean;
}

export class Session {
  readonly client: Client;
  readonly #o: SessionOptions;
  readonly #mirror: KeyspaceMirror;
  readonly #cluster: ClusterPoller;
  readonly #abort = new AbortController();
  readonly #subscribers = new Set<(s: DashboardState) => void>();
  readonly #serviceEvents: ServiceEvent[] = [];
  #flags: Flags | undefined;
  /** When each holder/leader key was first seen holding (undefined: already at start). */
  readonly #since = new Map<string, number | undefined>();
  #started = false;
  #leases: LeaseView[] = [];
  #publishTimer: NodeJS.Timeout | undefined;
  #leaseTimer: NodeJS.Timeout | undefined;

  constructor(o: SessionOptions) {
    this.#o = o;
    this.client = o.client;
    this.#mirror = new KeyspaceMirror(o.client, o.prefixes, (c) => this.#changed(c));
    this.#cluster = new ClusterPoller(o.client);
  }

  get writable(): boolean {
    return this.#o.writable;
  }

  /** Reads everything once; rejects when the keyspace cannot be read (wrong user, no permission). */
  async start(): Promise<void> {
    await this.#mirror.start();
    if (this.#o.prefixes.some((p) => this.#o.layout.flagsPrefix.startsWith(p))) {
      this.#flags = flags(this.client, { prefix: this.#o.layout.flagsPrefix, signal: this.#abort.signal });
      await this.#flags.ready().catch(() => {});
    }
    await Promise.all([this.#pollCluster(), this.#pollLeases()]);
    this.state();
    this.#started = true;
    const every = this.#o.pollMs ?? 2000;
    const loop = (f: () => Promise<void>) => {
      const t = setInterval(() => void f(), every);
      t.unref();
      this.#abort.signal.addEventListener('abort', () => clearInterval(t));
    };
    loop(() => this.#pollCluster());
    loop(() => this.#pollLeases());
  }

  close(): void {
    this.#abort.abort();
    this.#mirror.close();
    this.#flags?.close();
    clearTimeout(this.#publishTimer);
    clearTimeout(this.#leaseTimer);
    this.client.close();
  }

  state(): DashboardState {
    const s = dashboardState({
      revision: this.#mirror.revision,
      prefixes: this.#o.prefixes,
      writable: this.#o.writable,
      layout: this.#o.layout,
      entries: this.#mirror.entries(),
      serviceEvents: this.#serviceEvents,
      leases: this.#leases,
      cluster: this.#cluster.view,
      since: {},
    });
    // A holder first seen after the initial load took over then (to the dashboard's knowledge).
    const now = Date.now();
    const holders = new Set(holderKeys(s));
    for (const k of this.#since.keys()) if (!holders.has(k)) this.#since.delete(k);
    for (const k of holders) if (!this.#since.has(k)) this.#since.set(k, this.#started ? now : undefined);
    for (const [k, at] of this.#since) if (at !== undefined) s.since[k] = at;
    return s;
  }

  /** Calls `send` with every new state until the returned function is called. */
  subscribe(send: (s: DashboardState) => void): () => void {
    this.#subscribers.add(send);
    send(this.state());
    return () => this.#subscribers.delete(send);
  }

  /**
   * One page of the children of `prefix` (one '/'-level), from the mirror: only what this
   * session may read. `after` is the last child the page showed; at most `limit` children.
   */
  keys(prefix: string, after: string | undefined, limit: number): KeysPage {
    const level = this.#mirror.level(prefix, after, limit);
    const keys = [];
    for (const k of level.keys) {
      const e = this.#mirror.get(k);
      if (e) keys.push(keySummary(e, e.size));
    }
    return { revision: this.#mirror.revision.toString(), prefixes: level.prefixes, keys, more: level.more };
  }

  /** A key's value and its history back to the compaction point. */
  async key(key: string): Promise<KeyDetails | undefined> {
    const signal = this.#abort.signal;
    const kv = await this.client.get(key, { signal });
    if (!kv) return undefined;
    const history: KeyDetails['history'] = [];
    let compacted = false;
    // Each read at the revision before the last change finds the value before it.
    for (let rev = kv.modRevision - 1n; history.length < HISTORY && rev >= kv.createRevision; ) {
      try {
        const old = await this.client.get(key, { revision: rev, signal });
        if (!old) break;
        history.push({ modRevision: old.modRevision.toString(), value: valueView(old.value) });
        rev = old.modRevision - 1n;
      } catch (e) {
        if (!(e instanceof CompactedError)) throw e;
        compacted = true;
        break;
      }
    }
    return {
      key,
      value: valueView(kv.value),
      createRevision: kv.createRevision.toString(),
      modRevision: kv.modRevision.toString(),
      version: kv.version.toString(),
      lease: kv.lease === 0n ? '' : kv.lease.toString(16),
      history,
      compacted,
    };
  }

  /** The value a context gets from a flag, as the SDK's flags reader evaluates it. */
  evaluate(name: string, ctx: Record<string, unknown>) {
    const def = this.#flags?.definition(name);
    if (!this.#flags || !def) return { error: `no valid flag ${JSON.stringify(name)}` };
    return this.#flags.evaluate(name, def.type, callerDefault(def), ctx);
  }

  /** Stores a flag document after the recipe's validation; resolves with its problems, if any. */
  async setFlag(name: string, text: string): Promise<{ problems: string[]; revision?: string }> {
    const { def, problems } = documentProblems(text);
    if (problems.length > 0) return { problems };
    try {
      const admin = flagsAdmin(this.client, { prefix: this.#o.layout.flagsPrefix });
      const revision = await admin.set(name, def as Parameters<typeof admin.set>[1]);
      return { problems: [], revision: revision.toString() };
    } catch (e) {
      if (e instanceof InvalidFlagError) return { problems: [e.message] };
      throw e;
    }
  }

  async revokeLease(id: bigint): Promise<void> {
    await this.client.revokeLease(id, { signal: this.#abort.signal });
    await this.#pollLeases();
  }

  #changed(changes: MirrorChange[]): void {
    const at = Date.now();
    for (const c of changes) {
      const e = serviceEvent(this.#o.layout.servicesRoot, c, at);
      if (e) this.#serviceEvents.push(e);
    }
    this.#serviceEvents.splice(0, Math.max(0, this.#serviceEvents.length - EVENTS));
    this.#publish();
    // A key that came or went may have been on a lease: read the leases soon after.
    clearTimeout(this.#leaseTimer);
    this.#leaseTimer = setTimeout(() => void this.#pollLeases(), 100);
    this.#leaseTimer.unref();
  }

  /** Sends the new state once a burst of changes is over (at most every 50 ms). */
  #publish(): void {
    if (this.#publishTimer) return;
    this.#publishTimer = setTimeout(() => {
      this.#publishTimer = undefined;
      const s = this.state();
      for (const send of this.#subscribers) send(s);
    }, 50);
    this.#publishTimer.unref();
  }

  async #pollCluster(): Promise<void> {
    try {
      await this.#cluster.poll(this.#abort.signal);
      this.#publish();
    } catch {
      // A cluster without a quorum still has keys to show: keep the last view.
    }
  }

  async #pollLeases(): Promise<void> {
    try {
      this.#leases = await readLeases(this.client, this.#o.prefixes, this.#abort.signal);
      this.#publish();
    } catch {
      // Listing leases may be refused to a user without the root role: show none.
    }
  }
}
