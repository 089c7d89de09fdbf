/**
 * Concord's SDK for fetch-only runtimes (Cloudflare Workers, Vercel Edge, Deno Deploy, browsers):
 * the same API as `concord-kv`, with every call going through `fetch` to etcd's JSON gateway
 * (Concord's or etcd's own). Nothing reachable from here imports grpc-js or any node:* module,
 * or needs a global `Buffer`: it runs in a browser with no polyfill. Keys and values are
 * Uint8Arrays, made Buffers wherever the runtime has Buffer (Node, Deno, Bun, Workers with
 * nodejs_compat), so Node code gets the Buffers the types say.
 *
 * @module concord-kv/fetch
 */

export * from './core.js';
