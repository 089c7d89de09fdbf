/**
 * An edge function on the fetch transport, in the shape Cloudflare Workers, Vercel Edge and Deno
 * Deploy share (`fetch(request, env, ctx)`): it evaluates a feature flag for the caller and, when
 * the flag is on, takes a lock and makes a write fenced by it. Everything it imports comes from
 * `concord/fetch` and the recipes, so its bundle holds no gRPC code (test/bundle checks that).
 *
 * `Client.forServerless` gives short deadlines and a lock lease of 10 s that is not kept alive:
 * nothing runs after the response but the cleanup handed to `waitUntil`, and a lock left behind
 * by a killed isolate frees itself.
 *
 *   npx esbuild examples/edge-handler.ts --bundle --format=esm --platform=neutral \
 *     --external:node:crypto --external:node:events --outfile=edge.js
 */
import { flags } from '../recipes/flags.js';
import { lock } from '../recipes/lock.js';
import { Client, op } from '../src/fetch.js';

export interface Env {
  /** Comma-separated `host:port` of the cluster's client URLs. */
  ETCD_ENDPOINTS: string;
}

export interface Context {
  waitUntil(promise: Promise<unknown>): void;
}

export default {
  async fetch(request: Request, env: Env, ctx: Context): Promise<Response> {
    const client = Client.forServerless({ endpoints: env.ETCD_ENDPOINTS.split(',') });
    const user = new URL(request.url).searchParams.get('user') ?? 'anonymous';
    let release: (() => Promise<void>) | undefined;
    try {
      // One read of the flags (no heartbeat, closed at once): a request needs their values now.
      const f = flags(client, { prefix: 'edge/flags/', heartbeatMs: 0 });
      await f.ready();
      const enabled = f.getBoolean('edge-writes', false, { targetingKey: user });
      f.close();
      if (!enabled) return Response.json({ user, enabled });

      const held = await lock(client, 'edge/locks/report', { waitTimeoutMs: 4_000 });
      release = () => held.release();
      const r = await client
        .txn()
        .if(held.guard())
        .success(op.put('edge/report', `written for ${user}`))
        .commit();
      return Response.json({
        user,
        enabled,
        transport: client.transport,
        fencingToken: String(held.fencingToken),
        written: r.succeeded,
      });
    } finally {
      // Release the lock, revoke what is left and close, after the response is sent.
      ctx.waitUntil(
        (async () => {
          await release?.().catch(() => {});
          await client.shutdown();
        })(),
      );
    }
  },
};
