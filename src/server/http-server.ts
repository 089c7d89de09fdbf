/**
 * The member's HTTP/1 endpoints: /health, /livez, /readyz (see health.ts), /version (etcd's shapes) and /metrics (Prometheus
 * text, see metrics.ts), served on the client port (beside gRPC, see client-port.ts) and on any
 * --listen-metrics-urls listener.
 */
import http from 'node:http';
import { serveHealth } from './health.js';
import { jsonGateway } from './json-gateway.js';
import { CLUSTER_VERSION, ETCD_VERSION } from './maintenance-service.js';
import type { Node } from './node.js';

export function createHttpServer(node: Node): http.Server {
  const gateway = jsonGateway(node);
  return http.createServer((req, res) => {
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
