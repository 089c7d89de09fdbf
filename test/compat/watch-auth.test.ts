/**
 * SDK watches carry the client's metadata, checked with an auth token on a member with auth
 * enabled (real etcd, or Concord with its Auth service).
 */
import type { WatchEvent } from '../../src/index.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { httpPostJson, Reader } from './watch-helpers.js';

const etcd = etcdSuite({ members: 1, name: 'watch-auth' });

const summary = (evs: WatchEvent[]) => evs.map((e) => [e.type, e.key.toString(), e.revision]);

test('watches carry the client metadata (auth token) along with the hasleader flag', async () => {
  const auth = etcd.cluster;
  await auth.etcdctl(['user', 'add', 'root:pw', '--interactive=false'], { check: true });
  await auth.etcdctl(['auth', 'enable'], { check: true });
  const { token } = await httpPostJson<{ token: string }>(
    `${auth.members[0]!.clientUrl}/v3/auth/authenticate`,
    {
      name: 'root',
      password: 'pw',
    },
  );
  const c = etcd.newClient(auth.endpoints, { metadata: { token } });
  await c.put('k', 'unwatched');
  const r = new Reader(await c.watch('k', { timeoutMs: 5000 }));
  const put = await c.put('k', 'v');
  expect(summary(await r.events(1))).toEqual([['put', 'k', put.header.revision]]);
}, 30_000);
