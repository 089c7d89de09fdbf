/**
 * etcd's WithRequireLeader on the server side: a stream (watch, lease keepalive) whose call
 * carries the metadata `hasleader: true` is refused with "etcdserver: no leader" when this member
 * sees no leader, and ended with that error once the member has been leaderless for a while
 * (Node's leader monitor). Without it, a client on a member cut off from the others would keep
 * a watch that never delivers again; with it, the client fails over.
 */

import type { Node } from '../bootstrap/node.js';
import { NoLeaderError } from '../errors.js';

/** Whether the call asked for a leader (the grpc-gateway passes `Grpc-Metadata-Hasleader`). */
export function wantsLeader(metadata: { get(key: string): unknown } | undefined): boolean {
  return metadata?.get('hasleader') === 'true';
}

/**
 * Yields what `responses` yields until the member loses its leader for good; then throws
 * NoLeaderError, the caller's stream ends with it, and `stop` tells the handler to let go
 * (abort the signal it was given).
 */
export async function* requireLeader<T>(
  node: Node,
  responses: AsyncIterable<T>,
  stop: () => void,
): AsyncGenerator<T, void> {
  if (!node.hasLeader) throw new NoLeaderError();
  let end: (err: Error) => void = () => {};
  const lost = new Promise<never>((_, reject) => {
    end = reject;
  });
  // Never left unhandled: the race below observes it, or nobody needs it.
  lost.catch(() => {});
  node.leaderRequired.add(end);
  const it = responses[Symbol.asyncIterator]();
  try {
    for (;;) {
      const r = await Promise.race([it.next(), lost]);
      if (r.done) return;
      yield r.value;
    }
  } finally {
    node.leaderRequired.delete(end);
    stop();
    // Not awaited: a next() may still be pending on the abandoned iterator.
    void it.return?.()?.catch(() => {});
  }
}
