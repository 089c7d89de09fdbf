/**
 * A fault-injecting TCP proxy on the peer links. Member j advertises the URL of its proxy, so
 * every peer connection to j (Raft messages from i to j travel on connections i opens) passes
 * here; the proxy finds which member opened each connection (the socket's owner, from /proc)
 * and forwards it, or refuses and cuts it when the directed link i → j is down. Cutting i → j
 * but not j → i is a one-way partition.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';

interface Conn {
  from: number;
  to: number;
  client: net.Socket;
  upstream: net.Socket;
}

export class PeerProxies {
  readonly #servers: net.Server[] = [];
  readonly #conns = new Set<Conn>();
  /** Directed links that are down, as `from>to`. */
  readonly #down = new Set<string>();
  /** Connections whose opener could not be found (not a member: a test's own client). */
  unknownSources = 0;

  /** @param pids the current pid of each member, by index (-1 when not running). */
  constructor(private readonly pids: () => number[]) {}

  /** A proxy for member `to` listening on `port`, forwarding to its real peer port. */
  async add(to: number, port: number, upstreamPort: number): Promise<string> {
    const server = net.createServer({ pauseOnConnect: true }, (client) => {
      this.#accept(to, upstreamPort, client).catch(() => client.destroy());
    });
    server.unref();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve());
    });
    this.#servers.push(server);
    return `http://127.0.0.1:${port}`;
  }

  async #accept(to: number, upstreamPort: number, client: net.Socket): Promise<void> {
    const from = await this.#opener(client);
    if (from < 0 && this.pids().length > 0) this.unknownSources++;
    // An opener that cannot be told (its socket gone from /proc before the lookup, or a member
    // between restarts) fails closed while any link into `to` is down: letting it through could
    // heal a partition behind the nemesis's back. A member refused this way simply redials.
    if (this.isDown(from, to) || (from < 0 && this.#anyDownInto(to))) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort });
    const conn: Conn = { from, to, client, upstream };
    this.#conns.add(conn);
    const end = () => {
      this.#conns.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  /** Index of the member whose process holds the other end of `socket`, or -1. */
  async #opener(socket: net.Socket): Promise<number> {
    const hex = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const local = hex(socket.remotePort ?? 0);
    const remote = hex(socket.localPort ?? 0);
    const table = await readFile('/proc/net/tcp', 'utf8');
    let inode: string | undefined;
    for (const line of table.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[1] === local && f[2] === remote) inode = f[9];
    }
    if (!inode || inode === '0') return -1;
    const want = `socket:[${inode}]`;
    const pids = this.pids();
    for (let i = 0; i < pids.length; i++) {
      const pid = pids[i]!;
      if (pid <= 0) continue;
      let fds: string[];
      try {
        fds = await readdir(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        if (target === want) return i;
      }
    }
    return -1;
  }

  #anyDownInto(to: number): boolean {
    for (const link of this.#down) if (link.endsWith(`>${to}`)) return true;
    return false;
  }

  isDown(from: number, to: number): boolean {
    return this.#down.has(`${from}>${to}`);
  }

  /** Takes the directed link from → to down, cutting its open connections. */
  cut(from: number, to: number): void {
    this.#down.add(`${from}>${to}`);
    // A connection of unknown origin (opened before the members' pids were known) may be this
    // link: it goes too, and is told apart when it reconnects.
    for (const c of this.#conns) if ((c.from === from || c.from < 0) && c.to === to) c.client.destroy();
  }

  /** Cuts both directions between a and b. */
  cutBoth(a: number, b: number): void {
    this.cut(a, b);
    this.cut(b, a);
  }

  /** Splits the members into groups that hear only each other. */
  partition(groups: number[][]): void {
    for (const g of groups)
      for (const h of groups) if (g !== h) for (const a of g) for (const b of h) this.cut(a, b);
  }

  /** Every link up again. */
  heal(): void {
    this.#down.clear();
  }

  /** Links that are down, as `from>to`. */
  get down(): string[] {
    return [...this.#down].sort();
  }

  async close(): Promise<void> {
    for (const c of this.#conns) {
      c.client.destroy();
      c.upstream.destroy();
    }
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
