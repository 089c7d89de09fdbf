/**
 * The links between the members of a test cluster, which `partition()` cuts for real.
 *
 * Each member is started with `grpc_proxy` pointing at its own HTTP CONNECT proxy here, so every
 * connection it opens to another member (the raft stream, which follows grpc-js's proxy rules,
 * and gRPC for snapshots, forwarded lease and membership calls) is a tunnel through this
 * process, and the proxy knows which member opened it. Member i is isolated by cutting every tunnel between i and another member, both ways, and
 * leaving new ones unanswered, as a partitioned network does (a refusal would also make grpc-js
 * log an error in the member for every retry); healing completes the connections left waiting.
 * Connections from clients to a member do not pass here: clients still reach an isolated member,
 * as they reach a member cut off from its peers on a real network.
 */
import http from 'node:http';
import net from 'node:net';

/** A CONNECT request not answered yet. */
interface Held {
  from: number;
  to: number | undefined;
  host: string;
  port: number;
  client: net.Socket;
  head: Buffer;
}

interface Tunnel {
  from: number;
  to: number | undefined;
  client: net.Socket;
  upstream: net.Socket;
}

export class PeerLinks {
  readonly #servers: http.Server[] = [];
  readonly #tunnels = new Set<Tunnel>();
  readonly #held = new Set<Held>();
  readonly #isolated = new Set<number>();
  /** Which member listens on a port (its peer and client ports). */
  readonly #owners = new Map<number, number>();

  /** Records that member `member` listens on `ports` (replacing its previous ports). */
  setPorts(member: number, ports: number[]): void {
    for (const [port, owner] of this.#owners) if (owner === member) this.#owners.delete(port);
    for (const port of ports) this.#owners.set(port, member);
  }

  /** Starts the proxy member `from` connects through, and returns its URL (for `grpc_proxy`). */
  async proxyFor(from: number): Promise<string> {
    const server = http.createServer((_req, res) => {
      res.writeHead(405).end();
    });
    server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      this.#tunnel(from, req.url ?? '', client, head);
    });
    server.on('connection', (socket: net.Socket) => socket.unref());
    server.unref();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    this.#servers.push(server);
    const { port } = server.address() as net.AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  #tunnel(from: number, target: string, client: net.Socket, head: Buffer): void {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
    if (!m) {
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const request: Held = {
      from,
      to: this.#owners.get(Number(m[2])),
      host: m[1]!,
      port: Number(m[2]),
      client,
      head,
    };
    if (this.#down(from, request.to)) {
      // As a partitioned network does: no answer. The connection is completed on heal.
      this.#held.add(request);
      client.on('error', () => client.destroy()).on('close', () => this.#held.delete(request));
      return;
    }
    this.#open(request);
  }

  #open({ from, to, host, port, client, head }: Held): void {
    const upstream = net.connect({ host, port });
    upstream.unref();
    const tunnel: Tunnel = { from, to, client, upstream };
    this.#tunnels.add(tunnel);
    const end = () => {
      this.#tunnels.delete(tunnel);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  /** Completes the connections held while their link was down, once it is up. */
  #release(): void {
    for (const h of this.#held) {
      if (this.#down(h.from, h.to)) continue;
      this.#held.delete(h);
      if (!h.client.destroyed) this.#open(h);
    }
  }

  #down(from: number, to: number | undefined): boolean {
    if (to === undefined || to === from) return false;
    return this.#isolated.has(from) || this.#isolated.has(to);
  }

  /** Cuts member i off from every other member, both ways, until `rejoin(i)`. */
  isolate(i: number): void {
    this.#isolated.add(i);
    for (const t of this.#tunnels) if (this.#down(t.from, t.to)) t.client.destroy();
  }

  /** Lets member i reach the others again. */
  rejoin(i: number): void {
    this.#isolated.delete(i);
    this.#release();
  }

  rejoinAll(): void {
    this.#isolated.clear();
    this.#release();
  }

  isIsolated(i: number): boolean {
    return this.#isolated.has(i);
  }

  async close(): Promise<void> {
    for (const h of this.#held) h.client.destroy();
    this.#held.clear();
    for (const t of this.#tunnels) {
      t.client.destroy();
      t.upstream.destroy();
    }
    this.#tunnels.clear();
    await Promise.all(this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
