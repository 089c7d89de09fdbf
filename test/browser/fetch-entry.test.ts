/**
 * The fetch entry point in a real browser with no polyfill: a page bundled by esbuild for
 * platform 'browser' (nothing external: a node:* import anywhere it reaches fails the build)
 * runs in headless Chromium, served from its own origin, against `concord serve --cors <that
 * origin>`: put/get (text and raw bytes), a watch receiving an event, a lock with a fencing token
 * guarding a write, and a flag read through the OpenFeature web provider. The page has no
 * global Buffer.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { flagsAdmin } from '../../recipes/index.js';
import { Client } from '../../src/index.js';
import { launchChromium } from '../harness/browser.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';
import { ROOT } from '../harness/fixtures.js';

jest.setTimeout(120_000);

let dir: string;
let server: http.Server;
let origin: string;
let concord: Concord | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  ensureServerBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-browser-'));
  await build({
    entryPoints: [path.join(ROOT, 'test/browser/page.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    outfile: path.join(dir, 'page.js'),
    logLevel: 'silent',
  });
  const files: Record<string, [string, string]> = {
    '/': ['text/html', '<!doctype html><title>concord</title><script src="/page.js"></script>'],
    '/page.js': ['text/javascript', await readFile(path.join(dir, 'page.js'), 'utf8')],
  };
  server = http.createServer((req, res) => {
    const f = files[req.url ?? ''];
    res.writeHead(f ? 200 : 404, { 'content-type': f?.[0] ?? 'text/plain' });
    res.end(f?.[1] ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  concord = await startConcord({ args: ['--cors', origin] });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await concord?.close();
  await new Promise((resolve) => server?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('put/get, a watch, a fenced lock and a web flag, with no Buffer in the page', async () => {
  const admin = new Client({ endpoints: [concord!.endpoint] });
  try {
    await flagsAdmin(admin, { prefix: 'browser/flags/' }).set('beta', {
      type: 'boolean',
      value: false,
      rules: [{ attribute: 'targetingKey', op: 'in', value: ['ann'], serve: true }],
    });
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/`);
    const out = await page.evaluate(
      (endpoint) =>
        (globalThis as unknown as { runConcord(e: string): Promise<Record<string, unknown>> }).runConcord(
          endpoint,
        ),
      `http://${concord!.endpoint}`,
    );
    expect(errors).toEqual([]);
    expect(out.error).toBeUndefined();
    expect(out).toMatchObject({
      step: 'done',
      bufferType: 'undefined',
      transport: 'fetch',
      text: 'héllo wörld',
      valueIsUint8Array: true,
      valueBytes: 13,
      binary: [1, 2, 255],
      watched: { type: 'put', key: 'browser/events/1', value: 'one' },
      fencedWrite: true,
      lockKeysAfterRelease: 0,
      flag: { value: true, reason: 'TARGETING_MATCH', variant: 'rules[0]' },
    });
    // What the page wrote is what Node reads.
    expect(await admin.getString('browser/greeting')).toBe('héllo wörld');
    const { key, fencingToken } = out.lock as { key: string; fencingToken: string };
    expect(key).toMatch(/^browser\/lock\/[0-9a-f]+$/);
    expect(await admin.getString('browser/fenced')).toBe(fencingToken);
    const fenced = await admin.get('browser/fenced');
    expect(BigInt(fencingToken)).toBeLessThan(fenced!.modRevision);
    await page.close();
  } finally {
    admin.close();
  }
});

test('the gateway refuses CORS to an origin it was not given', async () => {
  const page = await browser!.newPage();
  try {
    // about:blank has the opaque origin "null", which --cors did not name.
    const status = await page.evaluate(async (url) => {
      try {
        await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        return 'allowed';
      } catch {
        return 'blocked';
      }
    }, `http://${concord!.endpoint}/v3/kv/range`);
    expect(status).toBe('blocked');
  } finally {
    await page.close();
  }
});
