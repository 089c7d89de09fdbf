/**
 * Reads the granted leases with their TTL left and attached keys. Leases are not keys: there is
 * no watch for them, so they are read again when a key on a lease changes and every few seconds
 * (a lease granted with no key yet changes nothing watched). The browser counts TTLs down between reads.
 */
import type { Client } from '../index.js';
import type { LeaseView } from './model/leases.js';

/**
 * The leases with their keys under `prefixes`. A viewer limited to some prefixes sees only the
 * leases holding a key there, and only those keys: a lease's key list must not name keys its
 * roles do not let it read (etcd before 3.4.26 lists them to anyone).
 */
export async function readLeases(
  client: Client,
  prefixes: string[],
  signal: AbortSignal,
): Promise<LeaseView[]> {
  const everything = prefixes.includes('');
  const ids = await client.leases({ signal });
  const views = await Promise.all(
    ids.map(async (id) => {
      const t = await client.leaseTimeToLive(id, { keys: true, signal }).catch(() => undefined);
      if (!t || t.ttl < 0) return undefined;
      const keys = t.keys
        .map((k) => k.toString('utf8'))
        .filter((k) => everything || prefixes.some((p) => k.startsWith(p)));
      if (!everything && keys.length === 0) return undefined;
      return {
        id: id.toString(16),
        ttl: t.ttl,
        grantedTtl: t.grantedTtl,
        keys: keys.sort(),
        readAt: Date.now(),
      };
    }),
  );
  return views.filter((v) => v !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1));
}
