/**
 * Routing a connection by its first bytes, for ports that serve several protocols on one
 * listener (the client port: HTTP/2 or HTTP/1; the peer port: HTTP/2 or the raft stream).
 */
import type net from 'node:net';

/**
 * Reads `socket` until its first bytes match one of `prefixes` whole, or differ from all of
 * them (or the peer ends), then calls `route` with the index of the match (-1 for none) and the
 * bytes read, which the caller puts back or consumes. A socket that has not decided within
 * `timeoutMs` is closed (etcd's cmux waits for good).
 */
export function routeByFirstBytes(
  socket: net.Socket,
  prefixes: readonly Buffer[],
  timeoutMs: number,
  route: (which: number, head: Buffer) => void,
): void {
  // Until a server owns it, a reset socket must not become an uncaught error.
  const onError = () => socket.destroy();
  socket.on('error', onError);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  let head = Buffer.alloc(0);
  const onReadable = () => {
    let chunk: Buffer | null;
    // biome-ignore lint/suspicious/noAssignInExpressions: the usual stream read loop.
    while ((chunk = socket.read() as Buffer | null) !== null) head = Buffer.concat([head, chunk]);
    let which = -1;
    let undecided = false;
    for (let i = 0; i < prefixes.length; i++) {
      const p = prefixes[i]!;
      const n = Math.min(head.length, p.length);
      if (!head.subarray(0, n).equals(p.subarray(0, n))) continue;
      if (n === p.length) which = i;
      else undecided = true;
    }
    if (which < 0 && undecided && !socket.readableEnded) return;
    clearTimeout(timer);
    socket.off('readable', onReadable);
    socket.off('error', onError);
    route(which, head);
  };
  socket.on('readable', onReadable);
}
