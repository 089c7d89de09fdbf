/**
 * The commit path takes no macrotask hop of its own: a proposal reaches the core at the end of
 * the turn it arrived in (not a setImmediate later); each such hop is a wake-up on a busy
 * machine, twice per write on the leader. Counted with async_hooks, not timed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type InternalRequest, Membership, RaftProposer, recover } from '../../src/server/index.js';
import { created } from './async-resources.js';

const put = (key: string): InternalRequest => ({
  put: {
    key: Buffer.from(key),
    value: Buffer.from('v'),
    lease: 0n,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  },
});

test('a proposal on an idle member is written and answered without a setImmediate or timer', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'concord-hops-'));
  const ids = { clusterId: 7n, memberId: 9n };
  const rec = await recover(dir, {
    smOptions: {},
    ...ids,
    founding: () => Membership.founding([{ id: ids.memberId, name: 'solo', peerUrl: 'http://127.0.0.1:1' }]),
    initialClusterState: 'new',
  });
  const p = new RaftProposer(rec, {
    ...ids,
    name: 'solo',
    clientUrls: ['http://127.0.0.1:2'],
    // Ticks are timers of their own: none falls inside the measured proposal.
    heartbeatMs: 60_000,
    electionMs: 600_000,
    snapshotCount: 100_000,
    maxRequestBytes: 1024 * 1024,
    fresh: rec.fresh,
    log: () => {},
  });
  try {
    await p.published;
    await p.propose(put('warm'));
    await p.idle();
    const revision = p.sm.revision;
    const types = await created(async () => {
      await p.propose(put('k'));
    });
    expect(types.filter((t) => t === 'Immediate' || t === 'Timeout')).toEqual([]);
    expect(p.sm.revision).toBe(revision + 1);
  } finally {
    await p.close();
    await rm(dir, { recursive: true, force: true });
  }
});
