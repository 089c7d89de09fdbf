/**
 * SDK watches carry the client's metadata, checked with an auth token on a real etcd with auth
 * enabled: etcd project only, as Concord has no Auth service (issue 7 does not ask for one).
 */
import { Client, type WatchEvent } from '../../src/index.js';
import { startEtcd } from '../harness/etcd.js';
import { httpPostJson, Reader } from './watch-helpers.js';

const summary = (evs: WatchEvent[]) => evs.map((e) => [e.type, e.key.toString(), e.revision]);

test('watches carry the client metadata (auth token) along with the hasleader flag', async () => {
  const auth = await startEtcd({ members: 1, name: 'watch-auth' });
  let c: Client | undefined;
  try {
    await auth.etcdctl(['user', 'add', 'root:pw', '--interactive=false'], { check: true });
    await auth.etcdctl(['auth', 'enable'], { check: true });
    const { token } = await httpPostJson<{ token: string }>(
      `${auth.members[0]!.clientUrl}/v3/auth/authenticate`,
      {
        name: 'root',
        password: 'pw',
      },
    );
    c = new Client({ endpoints: auth.endpoints, metadata: { token } });
    await c.put('k', 'unwatched');
    const r = new Reader(await c.watch('k', { timeoutMs: 5000 }));
    const put = await c.put('k', 'v');
    expect(summary(await r.events(1))).toEqual([['put', 'k', put.header.revision]]);
  } finally {
    c?.close();
    await auth.close();
  }
}, 30_000);
