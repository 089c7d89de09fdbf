/**
 * A client's failed dial says what failed and nothing empty: grpc-js ends its message with
 * "Resolution note: " (nothing after it), which the SDK's errors drop.
 */
import { Client, UnavailableError } from '../../src/index.js';
import { freePort } from '../harness/etcd.js';

test('a failed dial ends with what failed, not an empty "Resolution note:"', async () => {
  const port = await freePort();
  const client = new Client({ endpoints: [`127.0.0.1:${port}`], timeoutMs: 20_000 });
  try {
    const err = await client.maintenance.status().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnavailableError);
    const message = (err as Error).message;
    expect(message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(message).not.toMatch(/Resolution note:\s*$/);
    expect(message).not.toMatch(/:\s*$/);
  } finally {
    client.close();
  }
}, 30_000);
