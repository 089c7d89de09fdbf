/**
 * The member's HTTP/1 endpoints: /health, /livez, /readyz (see health.ts), /version (etcd's shapes) and /metrics (Prometheus
 * text, see metrics.ts), served on the client port (beside gRPC, see client-port.ts) and on any
 * --listen-metrics-urls listener.
 */
import http from 'node:http';
import type { Node } from '../bootstrap/node.js';
import { jsonGateway } from './gateway/json-gateway.js';
import { serveHealth } from './health.js';
import { CLUSTER_VERSION, ETCD_VERSION } from './maintenance-service.js';

export function createHttpServer(node: Node): http.Server {
  const gateway = jsonGateway(node);
  return http.createServer((req, res) => {
    if (cors(node.config.cors, req, res)) return;
    if (gateway(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    if (serveHealth(node, req, res)) return;
    if (path === '/metrics') {
      node.metrics.scrape().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: unknown) => json(500, { error: String(err) }),
      );
      return;
    }
    if (path === '/version') return json(200, { etcdserver: ETCD_VERSION, etcdcluster: CLUSTER_VERSION });
    json(404, { error: 'not found' });
  });
}

/**
 * etcd's access controller (--cors): a request from an allowed origin gets the CORS headers on
 * whatever answers it (the gateway, /health, …), and a preflight (OPTIONS) is answered here,
 * 200 with the headers for an allowed origin and without them otherwise (the browser then
 * refuses the call). `*` (etcd's default) allows any origin. Returns true when it answered.
 */
function cors(origins: string[] | undefined, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const origin = req.headers.origin;
  const any = !origins || origins.length === 0 || origins.includes('*');
  const allowed = any ? '*' : origin !== undefined && origins.includes(origin) ? origin : undefined;
  if (allowed) {
    res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS, PUT, DELETE');
    res.setHeader('Access-Control-Allow-Origin', allowed);
    res.setHeader('Access-Control-Allow-Headers', 'accept, content-type, authorization');
  }
  // The answer depends on the Origin header: caches must keep one per origin.
  if (!any) res.setHeader('Vary', 'Origin');
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(200, { 'content-length': '0' });
  res.end();
  return true;
}
