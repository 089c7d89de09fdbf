/**
 * Which key prefixes an etcd user may read, from its roles: what a viewer who logged in without
 * naming prefixes gets mirrored. etcd lets a user read its own user and roles. Only
 * prefix-shaped permissions count (a single key or an arbitrary range cannot be watched as a
 * prefix without reading past it, which etcd would refuse).
 */
import type { Client, Permission } from '../index.js';

/** The key every key with this prefix sorts below: the prefix with its last byte incremented. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** The prefix a permission covers, when it is one a reader may mirror ('' for every key). */
export function readablePrefix(p: Permission): string | undefined {
  if (p.type === 'write' || p.end.length === 0) return undefined;
  if (p.key.length === 0) return p.end.equals(Buffer.from([0])) ? '' : undefined;
  return p.end.equals(prefixEnd(p.key)) ? p.key.toString('utf8') : undefined;
}

/** The prefixes `username` may read, none nested in another; [''] for root. */
export async function readablePrefixes(
  client: Client,
  username: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const roles = await client.auth.getUser(username, { signal });
  if (roles.includes('root')) return [''];
  const perms = (await Promise.all(roles.map((r) => client.auth.getRole(r, { signal })))).flat();
  const prefixes = [...new Set(perms.map(readablePrefix).filter((p) => p !== undefined))].sort();
  return prefixes.filter((p) => !prefixes.some((q) => q !== p && p.startsWith(q)));
}
