/**
 * The dashboard in a real browser (headless Chromium) against a 3-member cluster of real etcd
 * and of Concord: locks taken with `etcdctl lock` and with the SDK, an election whose leader
 * resigns, a service instance that lives and dies with its lease, a flag edited and picked up by
 * a reader, and a read-only dashboard that changes nothing. Screenshots of every view go to
 * test-output/screenshots/dashboard/.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { elect, flags, flagsAdmin, lock, register } from '../../recipes/index.js';
import { Client, op } from '../../src/index.js';
import { launchChromium, screenshotDir } from '../harness/browser.js';
import type { EtcdCluster } from '../harness/etcd-cluster.js';
import { type Spawned, spawnTracked } from '../harness/fixtures.js';
import { startEtcd } from '../harness/start-etcd.js';
import { BOTH_TARGETS } from '../harness/targets.js';
import { waitFor } from '../harness/wait.js';
import { type DashboardProcess, startDashboardProcess } from './dashboard-process.js';

jest.setTimeout(120_000);

const VIEWS = ['cluster', 'keys', 'locks', 'elections', 'services', 'flags', 'leases'];

describe.each(BOTH_TARGETS)('the dashboard on a 3-member %s cluster', (target, bin) => {
  let cluster: EtcdCluster;
  let client: Client;
  let dashboard: DashboardProcess;
  let browser: Browser;
  let page: Page;
  const etcdctls: Spawned[] = [];

  /** `etcdctl <args>` left running (a lock holder, a candidate) until the test ends. */
  const etcdctl = (...args: string[]) => {
    const p = spawnTracked('etcdctl', [`--endpoints=${cluster.endpoints.join(',')}`, ...args], {
      ETCDCTL_API: '3',
    });
    etcdctls.push(p);
    return p;
  };
  /** The keys under `prefix`, oldest first: a queue as the recipes order it. */
  const queue = async (prefix: string) =>
    (await client.range({ prefix }, { sort: { target: 'create', order: 'ascend' } })).kvs;
  const show = async (view: string) => {
    await page.goto(`${dashboard.url}#/${view}`);
    await page.locator(`nav a[aria-current="page"][href="#/${view}"]`).waitFor();
  };
  const text = (selector: string) => page.locator(selector).first().textContent({ timeout: 15_000 });
  const seen = (selector: string, hasText: string) =>
    page.locator(selector).filter({ hasText }).first().waitFor({ timeout: 15_000 });
  const gone = (selector: string) =>
    page.locator(selector).first().waitFor({ state: 'detached', timeout: 15_000 });

  beforeAll(async () => {
    cluster = await startEtcd({ members: 3, bin, name: `dash-${target}` });
    client = new Client({ endpoints: cluster.endpoints });
    dashboard = await startDashboardProcess(cluster.endpoints, '--allow-writes');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  afterAll(async () => {
    for (const p of etcdctls) p.child.kill('SIGKILL');
    await Promise.all(etcdctls.map((p) => p.exited));
    await browser?.close();
    await dashboard?.close();
    client?.close();
    await cluster?.close();
  });

  test('the Cluster view lists the three members and the leader', async () => {
    await show('cluster');
    await page.locator('[data-member]').nth(2).waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-member]').count()).toBe(3);
    const leader = (await client.maintenance.status()).leader.toString(16);
    await seen('[data-cluster-leader]', '');
    expect(await page.locator('[data-cluster-leader]').getAttribute('data-cluster-leader')).toBe(leader);
  });

  test('the views are reached with the keyboard alone', async () => {
    await page.goto(dashboard.url);
    await page.locator('nav a[href="#/cluster"]').waitFor();
    // Tab to the third view's link (the links come first on the page) and follow it with Enter.
    for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Locks');
    // A new state arriving (a write here) re-renders the page: the focus must stay on the link.
    const { header } = await client.put('kbd/focus', 'x');
    await page.locator('.status', { hasText: `revision ${header.revision}` }).waitFor();
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Locks');
    await page.keyboard.press('Enter');
    await page.locator('nav a[aria-current="page"][href="#/locks"]').waitFor();
  });

  test('locks taken with etcdctl lock and with the SDK show holder, fencing token and waiters', async () => {
    // One lock held by etcdctl with an SDK waiter, one held by the SDK with an etcdctl waiter.
    const ctlHolder = etcdctl('lock', 'jobs/by-etcdctl');
    await waitFor(() => ctlHolder.lines.some((l) => l.startsWith('jobs/by-etcdctl/')), {
      what: 'etcdctl lock',
    });
    const sdkWaiter = lock(client, 'jobs/by-etcdctl', { ttl: 30 });
    const sdkHolder = await lock(client, 'jobs/by-sdk', { ttl: 30 });
    etcdctl('lock', 'jobs/by-sdk');
    await waitFor(
      async () =>
        (await queue('jobs/by-etcdctl/')).length === 2 && (await queue('jobs/by-sdk/')).length === 2,
      {
        what: 'both waiters queued',
      },
    );

    await show('locks');
    for (const name of ['jobs/by-etcdctl', 'jobs/by-sdk']) {
      const [holder, waiter] = await queue(`${name}/`);
      const card = `[data-lock="${name}"]`;
      await seen(`${card} .holder`, holder!.keyText());
      expect(await text(`${card} [data-fencing]`)).toBe(holder!.createRevision.toString());
      await seen(`${card} .queue li`, waiter!.keyText());
    }
    expect((await queue('jobs/by-sdk/'))[0]!.createRevision).toBe(sdkHolder.fencingToken);
    await page.screenshot({
      path: path.join(screenshotDir('dashboard'), `${target}-locks.png`),
      fullPage: true,
    });

    // The etcdctl holder goes: the SDK waiter holds, with its own (higher) token, live on the page.
    ctlHolder.child.kill('SIGINT');
    const next = await sdkWaiter;
    await seen('[data-lock="jobs/by-etcdctl"] [data-fencing]', next.fencingToken.toString());
    // It took over while the dashboard watched: "held since" is the time it saw that happen.
    expect(await text('[data-lock="jobs/by-etcdctl"] .holder')).toMatch(/held since \d{1,2}:\d{2}:\d{2}/);
    await next.release();
    await sdkHolder.release();
  });

  test("an election's leader changes on screen when the leader resigns", async () => {
    const alice = elect(client, 'leader/api', { value: 'alice', ttl: 30 });
    await alice.campaign();
    const bob = etcdctl('elect', 'leader/api', 'bob');
    await waitFor(async () => (await queue('leader/api/')).length === 2, { what: 'bob to stand' });
    await show('elections');
    await seen('[data-election="leader/api"] .leader-value', 'alice');
    await seen('[data-election="leader/api"] .queue li', 'bob');
    await page.screenshot({
      path: path.join(screenshotDir('dashboard'), `${target}-elections.png`),
      fullPage: true,
    });

    await alice.resign();
    await seen('[data-election="leader/api"] .leader-value', 'bob');
    await waitFor(() => bob.lines.includes('bob') || bob.lines.some((l) => l.startsWith('leader/api/')), {
      what: 'etcdctl elect to lead',
    });
  });

  test('a registered instance appears, then disappears with its lease', async () => {
    await show('services');
    const reg = await register(
      client,
      'api',
      { id: 'i-1', address: '10.0.0.1:8080', meta: { zone: 'a' } },
      { ttl: 30 },
    );
    await seen('[data-service="api"] [data-instance="i-1"]', '10.0.0.1:8080');
    await seen('[data-service="api"] [data-instance="i-1"]', '"zone":"a"');
    await page.screenshot({
      path: path.join(screenshotDir('dashboard'), `${target}-services.png`),
      fullPage: true,
    });
    await reg.lease.revoke();
    await gone('[data-service="api"] [data-instance="i-1"]');
    await seen('[data-service-log] li', 'leave api/i-1');
  });

  test('a flag edit is validated, stored and picked up by a reader', async () => {
    await flagsAdmin(client).set('new-checkout', { type: 'boolean', value: false });
    const reader = flags(client);
    await reader.ready();
    try {
      await show('flags');
      await seen('[data-flag="new-checkout"] [data-default]', 'false');

      await page.fill('#flag-name', 'new-checkout');
      await page.fill('#flag-context', '{"targetingKey": "u1"}');
      await page.click('form[aria-label="Evaluate a flag"] button[type=submit]');
      await seen('#flag-result', 'false (STATIC');

      // An invalid definition is refused with the SDK's own message, and nothing is stored.
      const before = await client.get('flags/new-checkout');
      await page.fill('#edit-name', 'new-checkout');
      await page.fill('#edit-document', '{"type": "boolean", "value": "yes"}');
      await page.click('form[aria-label="Edit a flag"] button[type=submit]');
      await seen('form[aria-label="Edit a flag"] p[role=status]', 'Refused');
      expect((await client.get('flags/new-checkout'))!.modRevision).toBe(before!.modRevision);

      await page.fill('#edit-document', '{"type": "boolean", "value": true}');
      await page.click('form[aria-label="Edit a flag"] button[type=submit]');
      await seen('form[aria-label="Edit a flag"] p[role=status]', 'Saved at revision');
      await waitFor(() => reader.getBoolean('new-checkout', false), { what: 'the reader to see the edit' });
      await seen('[data-flag="new-checkout"] [data-default]', 'true');
      await page.screenshot({
        path: path.join(screenshotDir('dashboard'), `${target}-flags.png`),
        fullPage: true,
      });
    } finally {
      reader.close();
    }
  });

  test('leases show TTL and keys; keys show value and history', async () => {
    const lease = await client.lease({ ttl: 60 });
    await client.put('config/app', '{"v":1}');
    await client.put('config/app', '{"v":2}', { lease });
    await show('leases');
    const id = lease.id.toString(16);
    await seen(`[data-lease="${id}"]`, 'config/app');
    await page.screenshot({
      path: path.join(screenshotDir('dashboard'), `${target}-leases.png`),
      fullPage: true,
    });

    await page.goto(`${dashboard.url}#/keys?prefix=config%2F&key=config%2Fapp`);
    await seen('section[aria-label="Key"] [data-value="json"]', '"v": 2');
    await seen('section[aria-label="Key"] .history li', '{"v":1}');
    // The live tail of config/ shows a change made after it started.
    await page.click('section[aria-label="Live tail"] button');
    await page
      .locator('section[aria-label="Live tail"] ol[data-live]')
      .waitFor({ state: 'attached', timeout: 15_000 });
    await client.put('config/feature', 'on');
    await seen('section[aria-label="Live tail"] li', 'config/feature = on');
    await page.screenshot({
      path: path.join(screenshotDir('dashboard'), `${target}-keys.png`),
      fullPage: true,
    });
    await show('cluster');
    await page.screenshot({
      path: path.join(screenshotDir('dashboard'), `${target}-cluster.png`),
      fullPage: true,
    });
    // The same page in the dark colour scheme (prefers-color-scheme), for a look at contrast.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({
      path: path.join(screenshotDir('dashboard'), `${target}-cluster-dark.png`),
      fullPage: true,
    });
    await page.emulateMedia({ colorScheme: 'light' });
    await lease.revoke();
  });

  test('Keys: a level a page at a time, prefixes to follow, a key to open, live updates', async () => {
    // 150 keys and one deeper prefix under many/: more children than one page (100) shows.
    const name = (i: number) => `many/k${String(i).padStart(3, '0')}`;
    // (Two txns: etcd takes at most 128 operations in one.)
    for (const from of [0, 75])
      await client
        .txn()
        .success(...Array.from({ length: 75 }, (_, i) => op.put(name(from + i), `value ${from + i}`)))
        .commit();
    await client.put('many/sub/deep', 'd');
    const keys = 'section[aria-label="Keys"]';
    const child = (c: string) => page.locator(`${keys} a[data-child="${c}"]`);
    await page.goto(`${dashboard.url}#/keys`);
    await seen(`${keys} li.prefix`, 'many/ 151');

    // Follow the prefix: the first page of its level, and a "More" button.
    await child('p:many/').click();
    await child(`k:${name(99)}`).waitFor({ timeout: 15_000 });
    expect(await page.locator(`${keys} li`).count()).toBe(100);
    expect(await child(`k:${name(100)}`).count()).toBe(0);

    // Page forward with the keyboard: the focus goes on to the first child the page added.
    await page.locator(`${keys} button.more`).focus();
    await page.keyboard.press('Enter');
    await child('p:many/sub/').waitFor({ timeout: 15_000 });
    expect(await page.locator(`${keys} li`).count()).toBe(151);
    expect(await page.evaluate('document.activeElement?.getAttribute("data-child")')).toBe(`k:${name(100)}`);
    expect(await page.locator(`${keys} button.more`).isHidden()).toBe(true);

    // A key written now appears in the open level (the revision moved), the pages shown kept.
    await client.put(name(150), 'late');
    await child(`k:${name(150)}`).waitFor({ timeout: 15_000 });
    expect(await page.locator(`${keys} li`).count()).toBe(152);

    // Open a key from the second page: its details, and the level stays as far as it was paged.
    await child(`k:${name(120)}`).click();
    await seen('section[aria-label="Key"] [data-value="text"]', 'value 120');
    expect(await child(`k:${name(120)}`).getAttribute('aria-current')).toBe('true');
    expect(await page.locator(`${keys} li`).count()).toBe(152);

    // A deeper level, and back up by the crumbs.
    await child('p:many/sub/').click();
    await child('k:many/sub/deep').waitFor({ timeout: 15_000 });
    await page.locator(`${keys} nav.crumbs a`, { hasText: 'many/' }).click();
    await child(`k:${name(0)}`).waitFor({ timeout: 15_000 });
    await client.delete({ prefix: 'many/' });
  });

  test('without --allow-writes nothing can change: no write control, every write refused', async () => {
    const ro = await startDashboardProcess(cluster.endpoints);
    try {
      const lease = await client.lease({ ttl: 60 });
      await client.put('held/by-lease', 'x', { lease });
      const roPage = await browser.newPage();
      for (const view of VIEWS) {
        await roPage.goto(`${ro.url}#/${view}`);
        await roPage.locator(`nav a[aria-current="page"][href="#/${view}"]`).waitFor();
      }
      await roPage.goto(`${ro.url}#/leases`);
      await roPage.locator(`[data-lease="${lease.id.toString(16)}"]`).waitFor({ timeout: 15_000 });
      expect(await roPage.locator('button', { hasText: 'Revoke' }).count()).toBe(0);
      await roPage.goto(`${ro.url}#/flags`);
      await roPage.locator('#flag-name').waitFor();
      expect(await roPage.locator('form[aria-label="Edit a flag"]').count()).toBe(0);

      const call = (method: string, p: string, body?: unknown) =>
        fetch(new URL(p, ro.url), {
          method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body ?? {}),
        });
      const before = await client.get('flags/new-checkout');
      expect(
        (await call('PUT', '/api/flags/new-checkout', { document: '{"type":"boolean","value":false}' }))
          .status,
      ).toBe(403);
      expect((await call('DELETE', `/api/leases/${lease.id.toString(16)}`)).status).toBe(403);
      expect((await call('POST', '/api/anything')).status).toBe(403);
      expect((await client.get('flags/new-checkout'))!.modRevision).toBe(before!.modRevision);
      expect((await client.leaseTimeToLive(lease.id)).ttl).toBeGreaterThan(0);
      await roPage.close();
      await lease.revoke();
    } finally {
      await ro.close();
    }
  });
});
