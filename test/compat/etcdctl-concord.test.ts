/**
 * The real `etcdctl` (Debian's etcd-client 3.4) against Concord, with the same script run
 * against a real etcd: every step's `-w json` output must match field by field once the values
 * that legitimately differ are normalized (cluster/member/lease IDs, raft term and index, db
 * size, version, URLs). Revisions are not normalized: both start empty, so they must agree.
 * Each script runs with host:port endpoints and again with URL endpoints (`http://…`, the form
 * etcd's docs use, which clientv3 sends as the request's :authority).
 */

import { CONCORD_BIN } from '../cluster/concord-bin.js';
import { ensureServerBuilt } from '../harness/concord.js';
import { startEtcd } from '../harness/etcd.js';
import { expectSameSteps, script } from './etcdctl-script.js';

// Not on etcdSuite(): each test starts an etcd and a Concord cluster of its own, to compare them.

beforeAll(() => ensureServerBuilt(), 120_000);

test.each([
  [1, 'host:port'],
  [3, 'host:port'],
  [1, 'URL'],
  [3, 'URL'],
] as const)(
  'the same etcdctl script gives the same JSON from %i-member Concord as from etcd (%s endpoints)',
  async (members, form) => {
    const urls = form === 'URL';
    const run = async (bin?: string) => {
      const cluster = await startEtcd({ members, name: bin ? 'ctl-concord' : 'ctl-etcd', bin });
      try {
        return await script((args, o) => cluster.etcdctl(args, { ...o, urls }));
      } finally {
        await cluster.close();
      }
    };
    const expected = await run();
    const actual = await run(CONCORD_BIN);
    expectSameSteps(expected, actual, members);
  },
  120_000,
);
