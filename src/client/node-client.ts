/**
 * The Node entry point's Client: gRPC by default (`transport: 'auto'` or `'grpc'`), the fetch
 * transport on request. Only this module reaches grpc-transport.ts (and so grpc-js).
 */
import { Client as BaseClient } from './client.js';
import { grpcTransport } from './grpc-transport.js';
import type { ClientOptions } from './options.js';

export class Client extends BaseClient {
  constructor(options: ClientOptions) {
    const t = options !== null && typeof options === 'object' ? options.transport : undefined;
    super(
      t === undefined || t === 'auto' || t === 'grpc' ? { ...options, transport: grpcTransport } : options,
    );
  }
}
