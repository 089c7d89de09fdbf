/**
 * Everything the browser shows, derived from the mirrored keys, the leases and the cluster's
 * status: one pure function, so a view is what the keys mean and nothing else.
 */
import type { ClusterView } from './cluster.js';
import type { Entry } from './entry.js';
import { type FlagView, flagViews } from './flags.js';
import { type KeySummary, keySummary } from './keys.js';
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
  keys: KeySummary[];
  locks: LockView[];
  elections: ElectionView[];
  services: ServiceView[];
  serviceEvents: ServiceEvent[];
  flags: FlagView[];
  leases: LeaseView[];
  cluster: ClusterView | undefined;
}

export interface StateInputs {
  revision: bigint;
  prefixes: string[];
  writable: boolean;
  layout: Layout;
  entries: readonly (Entry & { size: number })[];
  serviceEvents: ServiceEvent[];
  leases: LeaseView[];
  cluster: ClusterView | undefined;
}

export function dashboardState(i: StateInputs): DashboardState {
  return {
    revision: i.revision.toString(),
    prefixes: i.prefixes,
    writable: i.writable,
    layout: i.layout,
    keys: i.entries.map((e) => keySummary(e, e.size)),
    locks: locks(i.entries),
    elections: elections(i.entries),
    services: services(i.entries, i.layout.servicesRoot),
    serviceEvents: i.serviceEvents,
    flags: flagViews(i.entries, i.layout.flagsPrefix),
    leases: i.leases,
    cluster: i.cluster,
  };
}
