/**
 * HTTP CONNECT proxies for the raft stream, chosen by the rules grpc-js applies to the peer
 * gRPC channels (so both kinds of peer connection take the same route): `grpc_proxy`, else
 * `https_proxy`, else `http_proxy` (an http:// URL, optionally with user:password); a target
 * host that ends with an entry of `no_grpc_proxy` (else `no_proxy`), or an IPv4 address inside
 * one of its CIDR ranges, is dialled directly. The test cluster of `concord-kv/testing` relies on
 * this: its partitions cut the tunnels of its own proxy.
 */
import http from 'node:http';
import net from 'node:net';

export interface Proxy {
  host: string;
  port: number;
  /** `user:password`, for Proxy-Authorization. */
  creds?: string;
}

function noProxyList(env: NodeJS.ProcessEnv): string[] {
  const list = env.no_grpc_proxy || env.no_proxy;
  return list ? list.split(',') : [];
}

function inCidr(cidr: string, ip: string): boolean {
  const [base, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (!base || !net.isIPv4(base) || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return false;
  const list = new net.BlockList();
  list.addSubnet(base, prefix, 'ipv4');
  return list.check(ip, 'ipv4');
}

/** The proxy to reach `host` through, or undefined to dial it directly. */
export function proxyFor(host: string, env: NodeJS.ProcessEnv = process.env): Proxy | undefined {
  const raw = env.grpc_proxy || env.https_proxy || env.http_proxy;
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:') return undefined;
  for (const entry of noProxyList(env)) {
    const cidr = net.isIPv4(host) && entry.includes('/');
    if (cidr ? inCidr(entry, host) : host.endsWith(entry)) return undefined;
  }
  const user = decodeURIComponent(url.username);
  const creds = user ? (url.password ? `${user}:${decodeURIComponent(url.password)}` : user) : undefined;
  return { host: url.hostname, port: Number(url.port || 80), ...(creds ? { creds } : {}) };
}

/** How long a proxy may take to answer CONNECT before the dial counts as failed. */
export const TUNNEL_TIMEOUT_MS = 10_000;

/** A tunnel to host:port through `proxy`: the socket once the proxy answered 200. */
export function connectTunnel(
  proxy: Proxy,
  host: string,
  port: number,
  timeoutMs = TUNNEL_TIMEOUT_MS,
): Promise<net.Socket> {
  const target = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: proxy.host,
      port: proxy.port,
      method: 'CONNECT',
      path: target,
      headers: {
        Host: target,
        ...(proxy.creds
          ? { 'Proxy-Authorization': `Basic ${Buffer.from(proxy.creds).toString('base64')}` }
          : {}),
      },
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`proxy ${proxy.host}:${proxy.port} did not answer CONNECT ${target}`)),
      timeoutMs,
    );
    timer.unref();
    req.once('close', () => clearTimeout(timer));
    req.once('connect', (res, socket, head) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(
          new Error(`proxy ${proxy.host}:${proxy.port} answered ${res.statusCode} to CONNECT ${target}`),
        );
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('error', reject);
    req.end();
  });
}
