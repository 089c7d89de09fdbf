/**
 * Concord's SDK for fetch-only runtimes (Cloudflare Workers, Vercel Edge, Deno Deploy, browsers):
 * the same API as `concord-kv`, with every call going through `fetch` to etcd's JSON gateway
 * (Concord's or etcd's own). Nothing reachable from here imports grpc-js or node:http2/net/tls.
 * Keys and values are Buffers: the runtime needs a global `Buffer` (Node, Deno, Bun, Workers
 * with nodejs_compat, Vercel Edge).
 *
 * @module concord-kv/fetch
 */

export * from './core.js';
