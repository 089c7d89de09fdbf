/**
 * Endpoints written as URLs (issue 16, item 1), the form etcd's docs and every advertised client
 * URL use. Go's clientv3 sends the URL itself as each request's :authority
 * ("http://127.0.0.1:2379"), which Node's HTTP/2 refused until src/server/api/url-authority.ts.
 *
 * The real etcdctl runs every per-endpoint command (endpoint status / hashkv / health with and
 * without --cluster, defrag --cluster, snapshot save, move-leader) against 3 members of real
 * etcd 3.4 and of Concord, over http:// and over https:// with --client-cert-auth, and the
 * normalized outputs must match. A raw HTTP/2 client then checks what etcdctl's one-request
 * commands cannot: many requests on one connection (the rewritten :authority is referenced
 * from the HPACK dynamic table after the first), and a header block too big for one frame.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONCORD_BIN } from '../cluster/concord-bin.js';
import { ensureServerBuilt } from '../harness/concord.js';
import { type EtcdCluster, startEtcd, withTimeout } from '../harness/etcd.js';
import { makeCerts, type TestCerts, tlsSetup } from '../tls/certs.js';

let certs: TestCerts;
let dir: string;

beforeAll(() => {
  ensureServerBuilt();
  certs = makeCerts();
  dir = mkdtempSync(path.join(tmpdir(), 'url-endpoints-'));
}, 120_000);
afterAll(() => {
  certs?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Step = [string, unknown];

/**
 * What differs between two clusters for good reasons: ports, member IDs, timings, and in
 * `endpoint status` lines the version, db size, term and indexes (kept: endpoint, is leader,
 * is learner).
 */
function normalize(text: string): string[] {
  return text
    .replace(/:\d{2,5}\b/g, ':PORT')
    .replace(/\b[0-9a-f]{8,16}\b/g, 'ID') // member IDs print without leading zeros
    .replace(/took = \S+/g, 'took = T')
    .split('\n')
    .map((l) => {
      const f = l.split(', ');
      return f.length === 10 ? [f[0], f[4], f[5]].join(', ') : l;
    })
    .sort();
}

async function urlSteps(cluster: EtcdCluster, scheme: 'http' | 'https'): Promise<Step[]> {
  const urls = cluster.endpoints.map((e) => `${scheme}://${e}`);
  const steps: Step[] = [];
  const ctl = async (name: string, args: string[], endpoints = urls) => {
    const r = await cluster.etcdctl(args, { endpoints });
    steps.push([name, { code: r.code, stdout: normalize(r.stdout) }]);
    return r;
  };
  await ctl('put', ['put', 'k', 'v']);
  await ctl('endpoint status', ['endpoint', 'status']);
  await ctl(
    'endpoint status --cluster (URL endpoint)',
    ['endpoint', 'status', '--cluster'],
    urls.slice(0, 1),
  );
  // With a host:port endpoint, --cluster dials the members' advertised client URLs.
  await ctl(
    'endpoint status --cluster (host:port endpoint)',
    ['endpoint', 'status', '--cluster'],
    [cluster.endpoints[0]!],
  );
  await ctl('endpoint health --cluster', ['endpoint', 'health', '--cluster']);
  const hashes = await cluster.etcdctl(['endpoint', 'hashkv', '--cluster', '-w', 'json'], {
    endpoints: urls,
  });
  const parsed = JSON.parse(hashes.stdout || '[]') as { HashKV: { hash: number } }[];
  steps.push([
    'endpoint hashkv --cluster',
    { code: hashes.code, members: parsed.length, agree: new Set(parsed.map((h) => h.HashKV.hash)).size },
  ]);
  await ctl('defrag --cluster', ['defrag', '--cluster']);
  const file = path.join(dir, `${scheme}-${path.basename(cluster.dir)}.db`);
  const saved = await cluster.etcdctl(['snapshot', 'save', file], { endpoints: urls.slice(0, 1) });
  steps.push(['snapshot save', { code: saved.code, written: existsSync(file) && statSync(file).size > 0 }]);

  const leader = await cluster.leaderIndex();
  const target = (leader + 1) % cluster.members.length;
  // The member's ID from the member list (JSON would give it as a float: IDs are 64-bit).
  const list = await cluster.etcdctl(['member', 'list'], { endpoints: urls });
  const line = list.stdout.split('\n').find((l) => l.includes(urls[target]!));
  const targetId = line?.split(',')[0];
  expect(targetId).toMatch(/^[0-9a-f]+$/);
  await ctl('move-leader', ['move-leader', targetId!], [urls[leader]!]);
  steps.push(['leader after move-leader', (await cluster.leaderIndex()) === target]);
  return steps;
}

test.each(['http', 'https'] as const)(
  'etcdctl with %s:// URL endpoints gives the same answers from Concord as from etcd 3.4',
  async (scheme) => {
    const run = async (bin?: string) => {
      const name = `url-${scheme}-${bin ? 'concord' : 'etcd'}`;
      const cluster = await startEtcd({
        members: 3,
        name,
        bin,
        startTimeoutMs: 40_000,
        tls: scheme === 'https' ? tlsSetup(certs, { peer: false }) : undefined,
      });
      try {
        return await urlSteps(cluster, scheme);
      } finally {
        await cluster.close();
      }
    };
    const expected = await run();
    // Every step worked on etcd itself.
    for (const [name, outcome] of expected)
      if (typeof outcome === 'object' && outcome !== null && 'code' in outcome)
        expect([name, (outcome as { code: number }).code]).toEqual([name, 0]);
    expect(expected.find(([n]) => n === 'leader after move-leader')![1]).toBe(true);
    const actual = await run(CONCORD_BIN);
    expect(actual).toEqual(expected);
  },
  300_000,
);

/** A gRPC call's outcome over one HTTP/2 connection: the grpc-status it ends with. */
function statusCall(
  session: http2.ClientHttp2Session,
  authority: string,
  extra: Record<string, string> = {},
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/etcdserverpb.Maintenance/Status',
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extra,
    });
    let status: string | undefined;
    stream.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
    });
    stream.on('trailers', (t) => {
      status = String(t['grpc-status']);
    });
    stream.on('data', () => {});
    stream.on('error', reject);
    stream.on('close', () =>
      stream.rstCode ? reject(new Error(`stream reset with code ${stream.rstCode}`)) : resolve(status),
    );
    // An empty StatusRequest: the 5-byte gRPC message prefix of a zero-length message.
    stream.end(Buffer.alloc(5));
  });
}

test.each(['etcd', 'concord'] as const)(
  'one connection carries many requests with a URL :authority, and a header block over one frame (%s)',
  async (target) => {
    const cluster = await startEtcd({
      members: 1,
      name: `url-h2-${target}`,
      bin: target === 'concord' ? CONCORD_BIN : undefined,
    });
    const endpoint = cluster.endpoints[0]!;
    const session = http2.connect(`http://${endpoint}`);
    session.on('error', () => {});
    try {
      const authority = `http://${endpoint}`;
      const outcomes: (string | undefined)[] = [];
      for (let i = 0; i < 20; i++)
        outcomes.push(await withTimeout(statusCall(session, authority), 10_000, 'Status'));
      // 40 KiB of metadata: the header block spans a HEADERS frame and CONTINUATION frames.
      const big = { 'x-big-1': 'a'.repeat(20_000), 'x-big-2': 'b'.repeat(20_000) };
      outcomes.push(await withTimeout(statusCall(session, authority, big), 10_000, 'Status (big)'));
      outcomes.push(await withTimeout(statusCall(session, endpoint), 10_000, 'Status (host:port)'));
      expect(outcomes).toEqual(Array(outcomes.length).fill('0'));
    } finally {
      session.destroy();
      await cluster.close();
    }
  },
  120_000,
);
