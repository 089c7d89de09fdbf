/**
 * etcd's WithRequireLeader, against the target (etcd 3.4 in 'etcd', Concord in 'concord'): a
 * watch stream opened with the metadata `hasleader: true` (our SDK sends it on every watch and
 * keepalive stream) ends with UNAVAILABLE "etcdserver: no leader" once its member has been left
 * without a leader, so the client can go elsewhere; a stream without it stays open; a new one is
 * refused at once. The JSON gateway does the same for `Grpc-Metadata-Hasleader: true`.
 * Raw gRPC and HTTP here, so not in the fetch projects.
 */
import http from 'node:http';
import { ClientError, createChannel, createClient, Metadata, Status } from 'nice-grpc';
import { WatchCreateRequest, WatchDefinition, type WatchRequest } from '../../src/gen/etcdserverpb/rpc.js';
import { BatchQueue } from '../../src/transport/batch-queue.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 3, name: 'require-leader' });

const create = (key: string): WatchRequest => ({
  createRequest: WatchCreateRequest.fromPartial({ key: Buffer.from(key) }),
});

/** A raw watch on member 0: resolves with how the stream ended ('open' if still open at `until`). */
function rawWatch(opts: { hasleader: boolean; created: (ok: boolean) => void; until: Promise<void> }) {
  const channel = createChannel(etcd.cluster.members[0]!.endpoint);
  const reqs = new BatchQueue<WatchRequest>();
  reqs.push(create('k'));
  const ac = new AbortController();
  const metadata = opts.hasleader ? Metadata({ hasleader: 'true' }) : Metadata();
  const ended = (async () => {
    try {
      for await (const r of createClient(WatchDefinition, channel).watch(reqs, {
        signal: ac.signal,
        metadata,
      }))
        if (r.created) opts.created(!r.canceled);
      return 'ended';
    } catch (err) {
      if (err instanceof ClientError) return `${Status[err.code]}: ${err.details}`;
      if (ac.signal.aborted) return 'open';
      throw err;
    }
  })();
  opts.until.then(() => ac.abort());
  return ended.finally(() => {
    reqs.close();
    channel.close();
  });
}

/** A gateway watch on member 0 with the header: resolves with the whole body once it ends. */
function gatewayWatch(created: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${etcd.cluster.members[0]!.clientUrl}/v3/watch`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'grpc-metadata-hasleader': 'true' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (body.includes('"created":true')) created();
        });
        res.on('end', () => resolve(body));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ create_request: { key: Buffer.from('k').toString('base64') } }));
  });
}

test('a watch that requires a leader ends with "no leader" once its member has none; others stay open', async () => {
  let release!: () => void;
  const until = new Promise<void>((r) => {
    release = r;
  });
  let required!: Promise<string>;
  let plain!: Promise<string>;
  let gateway!: Promise<string>;
  let createdCount = 0;
  const createdAll = new Promise<void>((resolve) => {
    const one = (ok: boolean) => {
      expect(ok).toBe(true);
      if (++createdCount === 3) resolve();
    };
    required = rawWatch({ hasleader: true, created: one, until });
    plain = rawWatch({ hasleader: false, created: one, until });
    gateway = gatewayWatch(() => one(true));
  });
  await createdAll;

  // Member 0 alone: no quorum, no leader.
  await Promise.all([etcd.cluster.kill(1, 'SIGKILL'), etcd.cluster.kill(2, 'SIGKILL')]);
  const t0 = Date.now();
  expect(await required).toBe('UNAVAILABLE: etcdserver: no leader');
  // etcd checks once per election timeout and ends them after three without a leader.
  expect(Date.now() - t0).toBeLessThan(30_000);
  expect(await gateway).toContain('etcdserver: no leader');

  // A new stream asking for a leader is refused at once.
  const refused = await rawWatch({ hasleader: true, created: () => {}, until: new Promise(() => {}) });
  expect(refused).toBe('UNAVAILABLE: etcdserver: no leader');

  // The stream that did not ask is still open.
  release();
  expect(await plain).toBe('open');
}, 90_000);
