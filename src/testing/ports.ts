/**
 * Free TCP ports on 127.0.0.1 for the members of a test cluster. Each port is found by listening
 * on port 0; all of one request are held open at once (so they differ) and ports handed out in
 * the last two minutes, by any cluster of this process, are skipped (a member that just exited
 * may still hold one in TIME_WAIT, and a second cluster must not take the first one's ports).
 * Another process can still take a port before its member binds it: the cluster retries then.
 */
import net from 'node:net';

const RECENT_MS = 120_000;
const recent = new Map<number, number>();

function listenEphemeral(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(server));
  });
}

/** `n` distinct ports that were free a moment ago. */
export async function freePorts(n: number): Promise<number[]> {
  const held: net.Server[] = [];
  const ports: number[] = [];
  const now = Date.now();
  for (const [port, at] of recent) if (now - at > RECENT_MS) recent.delete(port);
  try {
    for (let attempts = 0; ports.length < n; attempts++) {
      if (attempts > n + 200) throw new Error(`concord-kv/testing: could not find ${n} free ports`);
      const server = await listenEphemeral();
      held.push(server);
      const { port } = server.address() as net.AddressInfo;
      if (!recent.has(port)) ports.push(port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
  for (const port of ports) recent.set(port, now);
  return ports;
}
