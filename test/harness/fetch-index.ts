/**
 * In the jest projects 'etcd-fetch' and 'concord-fetch', `src/index` resolves here (see
 * jest.config.cjs): the same exports, with a Client whose transport defaults to fetch, so the
 * SDK suites rerun unchanged over the JSON gateway. A test may still ask for a transport.
 */
import { Client as NodeClient } from '../../src/client/node-client.js';
import type { ClientOptions } from '../../src/core.js';

export { GrpcTransport, type GrpcTransportSettings, grpcTransport } from '../../src/client/grpc-transport.js';
export * from '../../src/core.js';

export class Client extends NodeClient {
  constructor(options: ClientOptions) {
    super({ transport: 'fetch', ...options });
  }
}
