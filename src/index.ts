/**
 * Concord's SDK for Node: an etcd v3 client for TypeScript, speaking gRPC by default and etcd's
 * JSON gateway with `transport: 'fetch'`. Works against Concord and against etcd. Fetch-only
 * runtimes get `concord-kv/fetch` (src/fetch.ts), which holds no gRPC code.
 *
 * @module concord-kv
 */

export { GrpcTransport, type GrpcTransportSettings, grpcTransport } from './client/grpc-transport.js';
export { Client } from './client/node-client.js';
export * from './core.js';
