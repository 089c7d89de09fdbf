/**
 * Everything the browser shows, derived from the mirrored keys, the leases and the cluster's
 * status: one pure function, so a view is what the keys mean and nothing else.
 */
import type { ClusterView } from './cluster.js';
import type { Entry } from './entry.js';
import { type FlagView, flagViews } from './flags.js';
import type { LeaseView } from './leases.js';
import { type ElectionView, elections, type LockView, locks } from './locks.js';
import { type ServiceEvent, type ServiceView, services } from './services.js';

/** Where the registry and the flags live (the recipes' defaults: `services/`, `flags/`). */
export interface Layout {
  servicesRoot: string;
  flagsPrefix: string;
}

export interface DashboardState {
  /** The store revision the keys are at. */
  revision: string;
  /** The key ranges this session may read and mirrors ('' is every key). */
  prefixes: string[];
  writable: boolean;
  layout: Layout;
  /**
   * How many keys the session mirrors. The keys themselves are not in the state: with 100k keys
   * they made every push megabytes; the Keys view asks for one level at a time (`/api/keys`).
   */
  keyCount: number;
  locks: LockView[];
  elections: ElectionView[];
  services: ServiceView[];
  serviceEvents: ServiceEvent[];
  flags: FlagView[];
  leases: LeaseView[];
  cluster: ClusterView | undefined;
  /**
   * When each current lock holder and election leader (by key) was first seen holding or
   * leading, in ms since the epoch; absent for one already holding when the dashboard started.
   */
  since: Record<string, number>;
}

/** The keys that hold a lock (or a permit) or lead an election in a state. */
export function holderKeys(s: Pick<DashboardState, 'locks' | 'elections'>): string[] {
  const locks = s.locks.flatMap((l) => (l.kind === 'mutex' ? [l.holder.key] : l.holders.map((h) => h.key)));
  return [...locks, ...s.elections.map((e) => e.leader.key)];
}

export interface StateInputs {
  revision: bigint;
  prefixes: string[];
  writable: boolean;
  layout: Layout;
  entries: readonly Entry[];
  serviceEvents: ServiceEvent[];
  leases: LeaseView[];
  cluster: ClusterView | undefined;
  since: Record<string, number>;
}

export function dashboardState(i: StateInputs): DashboardState {
  return {
    revision: i.revision.toString(),
    prefixes: i.prefixes,
    writable: i.writable,
    layout: i.layout,
    keyCount: i.entries.length,
    locks: locks(i.entries),
    elections: elections(i.entries),
    services: services(i.entries, i.layout.servicesRoot),
    serviceEvents: i.serviceEvents,
    flags: flagViews(i.entries, i.layout.flagsPrefix),
    leases: i.leases,
    cluster: i.cluster,
    since: i.since,
  };
}
