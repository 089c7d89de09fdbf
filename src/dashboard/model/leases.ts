/** Leases as the Leases view and the lock views show them. */
export interface LeaseView {
  /** Lease ID in hex. */
  id: string;
  /** Seconds left when read (`readAt`); the browser counts down from there. */
  ttl: number;
  grantedTtl: number;
  /** Attached keys, as UTF-8 text. */
  keys: string[];
  /** Milliseconds since the epoch when the TTL was read. */
  readAt: number;
}
