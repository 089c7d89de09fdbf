/**
 * The Node entry point's Client: gRPC by default (`transport: 'auto'` or `'grpc'`), the fetch
 * transport on request. Only this module reaches grpc-transport.ts (and so grpc-js).
 */
import { Client as BaseClient } from './client.js';
import { grpcTransport } from './grpc-transport.js';
import type { ClientOptions } from './options.js';

/**
 * A connection to an etcd v3 cluster (Concord or etcd), the SDK's entry point: KV, transactions,
 * watches, leases, and the `cluster`, `maintenance` and `auth` APIs; recipes take it as their
 * first argument. It speaks gRPC unless `transport: 'fetch'` is given. Construction does no I/O:
 * connections open on the first call. A client holding no lease or watch does not keep the
 * process alive; `close()` (or `await using`) releases everything.
 *
 * @example
 * ```ts
 * import { Client } from 'concord-kv';
 * await using client = new Client({ endpoints: ['127.0.0.1:2379'] });
 * await client.put('greeting', 'hello');
 * console.log(await client.getString('greeting')); // 'hello'
 * for await (const e of await client.watch({ prefix: 'jobs/' })) {
 *   console.log(e.type, e.key.toString());
 * }
 * ```
 */
export class Client extends BaseClient {
  constructor(options: ClientOptions) {
    const t = options !== null && typeof options === 'object' ? options.transport : undefined;
    super(
      t === undefined || t === 'auto' || t === 'grpc' ? { ...options, transport: grpcTransport } : options,
    );
  }
}
