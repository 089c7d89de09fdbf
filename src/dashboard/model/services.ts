/**
 * The service registry decoded: `<root><service>/<id>` holding `{ id, address, meta }` on a lease
 * (recipes/registry.ts). A key under the root that is not such a document is listed as invalid
 * rather than dropped, so a stray write is visible.
 */
import { type Entry, leaseHex } from './entry.js';

export interface InstanceView {
  id: string;
  address: string;
  meta: Record<string, unknown>;
  /** Lease ID in hex ('' when the key has no lease: it will never expire on its own). */
  lease: string;
  createRevision: string;
  modRevision: string;
}

export interface ServiceView {
  name: string;
  instances: InstanceView[];
  /** Keys under the service that are not an instance document. */
  invalid: string[];
}

/** An instance joining, leaving or changing, as the dashboard saw it happen. */
export interface ServiceEvent {
  /** Milliseconds since the epoch, on the dashboard's clock. */
  at: number;
  type: 'join' | 'leave' | 'update';
  service: string;
  id: string;
  revision: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The service and instance id a key names under `root`, if it is shaped like a registration. */
export function instanceKey(root: string, key: string): { service: string; id: string } | undefined {
  if (!key.startsWith(root)) return undefined;
  const rest = key.slice(root.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1 || rest.indexOf('/', slash + 1) !== -1) return undefined;
  return { service: rest.slice(0, slash), id: rest.slice(slash + 1) };
}

function instance(e: Entry, id: string): InstanceView | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(e.value);
  } catch {
    return undefined;
  }
  if (!isObject(doc) || typeof doc.address !== 'string') return undefined;
  return {
    id,
    address: doc.address,
    meta: isObject(doc.meta) ? doc.meta : {},
    lease: e.lease === 0n ? '' : leaseHex(e.lease),
    createRevision: e.createRevision.toString(),
    modRevision: e.modRevision.toString(),
  };
}

export function services(entries: readonly Entry[], root: string): ServiceView[] {
  const byName = new Map<string, ServiceView>();
  for (const e of entries) {
    const k = instanceKey(root, e.key);
    if (!k) continue;
    const s = byName.get(k.service) ?? { name: k.service, instances: [], invalid: [] };
    byName.set(k.service, s);
    const i = instance(e, k.id);
    if (i) s.instances.push(i);
    else s.invalid.push(e.key);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The registry event a watch event is, if it touches an instance key. */
export function serviceEvent(
  root: string,
  change: { type: 'put' | 'delete'; key: string; version: bigint; revision: bigint },
  at: number,
): ServiceEvent | undefined {
  const k = instanceKey(root, change.key);
  if (!k) return undefined;
  const type = change.type === 'delete' ? 'leave' : change.version === 1n ? 'join' : 'update';
  return { at, type, service: k.service, id: k.id, revision: change.revision.toString() };
}
