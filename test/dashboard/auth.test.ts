/**
 * The dashboard with auth on, against real etcd and Concord: with no --user, each viewer logs in
 * as an etcd user and sees only what that user's roles let it read (keys, locks, lease keys).
 */
import type { Browser, Page } from 'playwright-core';
import { lock } from '../../recipes/index.js';
import { Client } from '../../src/index.js';
import { launchChromium, screenshotDir } from '../harness/browser.js';
import type { EtcdCluster } from '../harness/etcd-cluster.js';
import { startEtcd } from '../harness/start-etcd.js';
import { BOTH_TARGETS } from '../harness/targets.js';
import { type DashboardProcess, startDashboardProcess } from './dashboard-process.js';

jest.setTimeout(120_000);

describe.each(BOTH_TARGETS)('the dashboard with auth on %s', (target, bin) => {
  let cluster: EtcdCluster;
  let root: Client;
  let dashboard: DashboardProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    cluster = await startEtcd({ members: 1, bin, name: `dash-auth-${target}` });
    const admin = new Client({ endpoints: cluster.endpoints });
    try {
      await admin.auth.addUser('root', 'root-pw');
      await admin.auth.grantRole('root', 'root');
      await admin.auth.addRole('app');
      await admin.auth.grantPermission('app', 'readwrite', { prefix: 'app/' });
      await admin.auth.addUser('alice', 'alice-pw');
      await admin.auth.grantRole('alice', 'app');
      await admin.auth.enable();
    } finally {
      admin.close();
    }
    root = new Client({ endpoints: cluster.endpoints, auth: { username: 'root', password: 'root-pw' } });
    await root.put('app/config', '{"mode":"on"}');
    await root.put('secret/password', 'hunter2');
    dashboard = await startDashboardProcess(cluster.endpoints);
    browser = await launchChromium();
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    root?.close();
    await cluster?.close();
  });

  test('nothing is shown before a login; a wrong password is refused', async () => {
    expect((await fetch(new URL('/api/state', dashboard.url))).status).toBe(401);
    await page.goto(dashboard.url);
    await page.fill('#login-user', 'alice');
    await page.fill('#login-password', 'wrong');
    await page.click('form[aria-label="Log in"] button[type=submit]');
    await page.locator('form[aria-label="Log in"] p[role=status]').filter({ hasText: /auth/i }).waitFor();
  });

  test('alice sees the keys, locks and lease keys under app/ and nothing under secret/', async () => {
    const ours = await lock(root, 'app/jobs', { ttl: 30 });
    const theirs = await lock(root, 'secret/jobs', { ttl: 30 });
    try {
      await page.goto(dashboard.url);
      await page.fill('#login-user', 'alice');
      await page.fill('#login-password', 'alice-pw');
      await page.click('form[aria-label="Log in"] button[type=submit]');
      await page.locator('header .user').filter({ hasText: 'alice' }).waitFor();

      await page.goto(`${dashboard.url}#/locks`);
      await page.locator('[data-lock="app/jobs"]').waitFor();
      expect(await page.locator('[data-lock="secret/jobs"]').count()).toBe(0);
      await page.screenshot({
        path: `${screenshotDir('dashboard')}/${target}-auth-locks.png`,
        fullPage: true,
      });

      // The Keys view's levels hold only what alice may read.
      const level = (prefix: string) =>
        page.evaluate(
          (p) => fetch(`/api/keys?prefix=${encodeURIComponent(p)}`).then((r) => r.json()),
          prefix,
        ) as Promise<{ prefixes: [string, number][]; keys: { key: string }[] }>;
      const top = await level('');
      expect(top.prefixes.map(([p]) => p)).toEqual(['app/']);
      expect(top.keys).toEqual([]);
      expect((await level('app/')).keys.map((k) => k.key)).toContain('app/config');
      expect(await level('secret/')).toMatchObject({ prefixes: [], keys: [] });
      const state = await page.evaluate(() => fetch('/api/state').then((r) => r.json()));
      const leaseKeys = (state as { leases: { keys: string[] }[] }).leases.flatMap((l) => l.keys);
      expect(leaseKeys.filter((k) => !k.startsWith('app/'))).toEqual([]);
      expect(leaseKeys).toContain(ours.key.toString());

      const secret = await page.evaluate(() => fetch('/api/key?key=secret%2Fpassword').then((r) => r.status));
      expect(secret).toBe(403);
    } finally {
      await ours.release();
      await theirs.release();
    }
  });
});
