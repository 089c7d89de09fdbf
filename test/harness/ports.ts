/** Free TCP ports on 127.0.0.1 for test servers, and whether a port accepts connections. */
import net from 'node:net';
import { recentPorts } from './process-registry.js';

const RECENT_PORT_MS = 120_000;

function listenEphemeral(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(server));
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * `n` distinct currently-free ports on 127.0.0.1 (all held open at once, so they differ), avoiding ports this
 * process handed out in the last two minutes. Another process may still grab one before it is bound: callers
 * retry on "address already in use" (startEtcd does).
 */
export async function freePorts(n: number): Promise<number[]> {
  const held: net.Server[] = [];
  const ports: number[] = [];
  const now = Date.now();
  for (const [port, at] of recentPorts) if (now - at > RECENT_PORT_MS) recentPorts.delete(port);
  try {
    let attempts = 0;
    while (ports.length < n) {
      if (++attempts > n + 200) throw new Error(`freePorts: could not find ${n} fresh ports`);
      const server = await listenEphemeral();
      held.push(server);
      const port = (server.address() as net.AddressInfo).port;
      if (!recentPorts.has(port)) ports.push(port);
    }
  } finally {
    await Promise.all(held.map(closeServer));
  }
  for (const port of ports) recentPorts.set(port, now);
  return ports;
}

/** A currently free TCP port on 127.0.0.1 (listen on port 0, then close). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** Whether `port` on 127.0.0.1 can be listened on now. */
function bindable(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * A base port whose next `n` ports are all free now, for a command that takes a base port and
 * counts up from it (`concord dev --base-port`): one free port says nothing of those after it.
 */
export async function freePortRun(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + n > 65535) continue;
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await bindable(p);
    if (ok) return base;
  }
  throw new Error(`freePortRun: no run of ${n} free ports`);
}

export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
