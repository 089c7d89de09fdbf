/**
 * The `autoSyncInterval` option (Go clientv3's AutoSyncInterval): every interval, the member
 * list replaces the endpoint list, so a client started with one member's address survives that
 * member going away and follows members added later. As Go's `Sync`, members not started yet
 * (no name) and learners (they serve no client requests) are left out, and a failed sync
 * changes nothing: the next one tries again.
 */
import { ClusterDefinition } from '../gen/services.js';
import type { Connections } from './connections.js';

export class EndpointSync {
  readonly #conns: Connections;
  #running = false;

  constructor(conns: Connections, intervalMs: number) {
    this.#conns = conns;
    if (!conns.transport.setEndpoints)
      throw new TypeError(
        `autoSyncInterval needs a transport that can change endpoints; ${conns.transport.kind} cannot`,
      );
    // Unref'd: syncing alone does not keep the process alive.
    const timer = setInterval(() => void this.sync().catch(() => {}), intervalMs);
    (timer as { unref?: () => void }).unref?.();
    conns.closeSignal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }

  /** Reads the member list and replaces the endpoints with their client URLs; true if they changed. */
  async sync(): Promise<boolean> {
    if (this.#running || this.#conns.closed) return false;
    this.#running = true;
    try {
      const conns = this.#conns;
      const res = await conns.unary('read', undefined, (i, signal) =>
        conns.client(ClusterDefinition, i).memberList({}, { signal }),
      );
      const urls = res.members.filter((m) => m.name !== '' && !m.isLearner).flatMap((m) => m.clientURLs);
      return urls.length > 0 && conns.setEndpoints(urls);
    } finally {
      this.#running = false;
    }
  }
}
