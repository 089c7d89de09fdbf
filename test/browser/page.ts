/**
 * The page test/browser/fetch-entry.test.ts loads in Chromium, bundled by esbuild for the
 * browser with nothing external and no polyfill: the fetch entry point, a lock, a watch and the
 * OpenFeature web provider against Concord's gateway. `runConcord(endpoint)` resolves with what
 * the test checks (bigints as strings: the result crosses into Node as JSON).
 */
import { OpenFeature } from '@openfeature/web-sdk';
import { lock } from '../../recipes/lock.js';
import { ConcordWebFlagProvider } from '../../recipes/openfeature-web.js';
import { Client, op } from '../../src/fetch.js';

async function runConcord(endpoint: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { bufferType: typeof (globalThis as { Buffer?: unknown }).Buffer };
  const client = new Client({ endpoints: [endpoint] });
  try {
    out.transport = client.transport;
    out.step = 'put';
    await client.put('browser/greeting', 'héllo wörld');
    out.text = await client.getString('browser/greeting');
    const kv = await client.get('browser/greeting');
    out.valueIsUint8Array = kv?.value instanceof Uint8Array;
    out.valueBytes = kv?.value.length;
    await client.put(new Uint8Array([0x62, 0x00, 0xff]), new Uint8Array([1, 2, 255]));
    out.binary = Array.from((await client.get(new Uint8Array([0x62, 0x00, 0xff])))?.value ?? []);

    out.step = 'watch';
    const watch = await client.watch({ prefix: 'browser/events/' });
    await client.put('browser/events/1', 'one');
    for await (const e of watch) {
      out.watched = { type: e.type, key: e.kv.keyText(), value: e.kv.text(), revision: String(e.revision) };
      break;
    }

    out.step = 'lock';
    const held = await lock(client, 'browser/lock', { ttl: 10 });
    out.lock = { key: new TextDecoder().decode(held.key), fencingToken: String(held.fencingToken) };
    const fenced = await client
      .txn()
      .if(held.guard())
      .success(op.put('browser/fenced', String(held.fencingToken)))
      .commit();
    out.fencedWrite = fenced.succeeded;
    await held.release();
    out.lockKeysAfterRelease = (await client.range({ prefix: 'browser/lock/' })).kvs.length;

    out.step = 'flag';
    await OpenFeature.setProviderAndWait(new ConcordWebFlagProvider(client, { prefix: 'browser/flags/' }), {
      targetingKey: 'ann',
    });
    const flag = OpenFeature.getClient().getBooleanDetails('beta', false);
    out.flag = { value: flag.value, reason: flag.reason, variant: flag.variant };
    await OpenFeature.close();
    out.step = 'done';
  } catch (e) {
    out.error = String(e);
  } finally {
    await client.shutdown();
  }
  return out;
}

(globalThis as { runConcord?: typeof runConcord }).runConcord = runConcord;
