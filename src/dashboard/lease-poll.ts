/**
 * Reads the granted leases with their TTL left and attached keys. Leases are not keys: there is
 * no watch for them, so they are read again when a key on a lease changes and every few seconds
 * (a lease granted with no key yet changes nothing watched). The browser counts TTLs down between reads.
 */
import type { Client } from '../index.js';
import type { LeaseView } from './model/leases.js';

export async function readLeases(client: Client, signal: AbortSignal): Promise<LeaseView[]> {
  const ids = await client.leases({ signal });
  const views = await Promise.all(
    ids.map(async (id) => {
      const t = await client.leaseTimeToLive(id, { keys: true, signal });
      if (t.ttl < 0) return undefined;
      return {
        id: id.toString(16),
        ttl: t.ttl,
        grantedTtl: t.grantedTtl,
        keys: t.keys.map((k) => k.toString('utf8')).sort(),
        readAt: Date.now(),
      };
    }),
  );
  return views.filter((v) => v !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1));
}
