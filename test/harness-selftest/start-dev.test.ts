/**
 * startDev's retry: a port taken between the check and dev's bind makes dev exit naming it;
 * startDev then tries another run of ports instead of failing (or waiting out its timeout).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureServerBuilt, startDev } from '../harness/concord.js';
import { freePortRun } from '../harness/etcd.js';
import { killAll } from '../harness/fixtures.js';

beforeAll(() => ensureServerBuilt());
afterEach(() => killAll());

test('a busy port in the first run of ports: dev exits, and startDev starts it on the next', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'concord-start-dev-'));
  const taken = net.createServer();
  try {
    const busy = await freePortRun(6);
    // The third port (member 1's client port) is held by someone else.
    await new Promise<void>((resolve) => taken.listen(busy + 2, '127.0.0.1', resolve));
    const bases: number[] = [];
    const { dev, base } = await startDev(dir, {
      pickBase: async () => {
        const b = bases.length === 0 ? busy : await freePortRun(6);
        bases.push(b);
        return b;
      },
    });
    expect(bases).toEqual([busy, base]);
    expect(base).not.toBe(busy);
    expect(dev.lines.some((l) => l.includes('ready to serve client requests'))).toBe(true);
    dev.child.kill('SIGTERM');
    await dev.exited;
  } finally {
    taken.close();
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);
