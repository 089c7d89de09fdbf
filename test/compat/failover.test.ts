/**
 * Endpoint failover on a 3-member etcd cluster: a dead first endpoint is skipped, a write that
 * could not be sent is retried and applied once, a write that may have been sent is not retried,
 * and killing the member in use moves reads to another member.
 */
import net from 'node:net';
import { UnavailableError } from '../../src/index.js';
import { freePort, waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 3, name: 'failover', client: { timeoutMs: 5000 }, heal: true });
let deadEndpoint: string;

/** Index of the member whose ID is in a response header. */
function memberIndex(memberId: bigint): number {
  return etcd.cluster.members.findIndex((m) => m.id !== undefined && BigInt(m.id) === memberId);
}

beforeAll(async () => {
  // Nothing listens there: connections are refused.
  deadEndpoint = `127.0.0.1:${await freePort()}`;
});

/**
 * A TCP proxy to `target` that passes everything through until the client sends bytes containing
 * `marker`: it forwards those to the member, then resets the client's connection and drops the
 * member's answer (the member's side stays open, so the request is served there). Later
 * connections pass through untouched.
 */
async function cutAfterRequest(target: string, marker: string) {
  const [host, port] = target.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((c) => {
    const up = net.connect(Number(port), host);
    for (const s of [c, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    let seen = Buffer.alloc(0);
    let dropAnswers = false;
    c.on('data', (chunk: Buffer) => {
      up.write(chunk);
      if (cut) return;
      seen = Buffer.concat([seen, chunk]).subarray(-4096);
      // gRPC carries the key as bytes; the fetch transport's JSON body, in base64.
      if (seen.includes(marker) || seen.includes(Buffer.from(marker).toString('base64'))) {
        cut = true;
        dropAnswers = true;
        c.resetAndDestroy();
      }
    });
    up.on('data', (chunk: Buffer) => {
      if (!dropAnswers && !c.destroyed) c.write(chunk);
    });
    c.on('close', () => {
      if (!dropAnswers) up.destroy();
    });
    up.on('close', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    get cut() {
      return cut;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

describe('failover', () => {
  test('a put whose request may have been sent is not retried on another endpoint', async () => {
    const key = `fo-sent/k-${process.pid}-${Date.now()}`;
    const proxy = await cutAfterRequest(etcd.cluster.endpoints[0]!, key);
    try {
      const c = etcd.newClient([proxy.endpoint, ...etcd.cluster.endpoints.slice(1)]);
      // The connection is up (and the proxy passes calls) before the put.
      expect(await c.get('fo-sent/warmup')).toBeUndefined();
      const err = await withTimeout(
        c.put(key, 'once').then(
          () => new Error('put resolved'),
          (e: unknown) => e,
        ),
        10_000,
        'the put to end',
      );
      expect(proxy.cut).toBe(true);
      // The client cannot know whether the put was applied: it says so, it does not retry.
      expect(err).toBeInstanceOf(UnavailableError);
      // The member behind the proxy did apply it, exactly once: a retry elsewhere would make version 2.
      const other = etcd.newClient(etcd.cluster.endpoints.slice(1));
      await waitFor(async () => (await other.get(key)) !== undefined, {
        timeoutMs: 10_000,
        what: 'the put applied by the member behind the proxy',
      });
      const kv = await other.get(key);
      expect([kv?.text(), kv?.version]).toEqual(['once', 1n]);
    } finally {
      await proxy.close();
    }
  });

  test('a put whose first endpoint is dead is retried on the next one and applied exactly once', async () => {
    const c = etcd.newClient([deadEndpoint, ...etcd.cluster.endpoints]);
    const put = await c.put('fo-once/k', 'v1');
    expect(memberIndex(put.header.memberId)).toBe(0);
    const kv = await c.get('fo-once/k');
    expect(kv?.text()).toBe('v1');
    // One put, one revision: applying it twice would make version 2.
    expect(kv?.version).toBe(1n);
    expect(kv?.createRevision).toBe(put.header.revision);
    expect(kv?.modRevision).toBe(put.header.revision);
    // Later calls stay on the live member (no new trip to the dead one needed to succeed).
    const again = await c.put('fo-once/k2', 'v2');
    expect(memberIndex(again.header.memberId)).toBe(0);
    expect(again.header.revision).toBe(put.header.revision + 1n);
  });

  test('get and put work with endpoints [dead, member0, member1, member2]', async () => {
    const c = etcd.newClient([deadEndpoint, ...etcd.cluster.endpoints]);
    expect(await c.get('fo-basic/missing')).toBeUndefined();
    await c.put('fo-basic/k', 'v');
    expect(await c.getString('fo-basic/k')).toBe('v');
    expect(await c.count({ prefix: 'fo-basic/' })).toBe(1n);
  });

  test.each([
    ['a follower', false],
    ['the leader', true],
  ])(
    'killing the member in use (%s) moves reads to another member',
    async (_what, killLeader) => {
      const leader = await etcd.cluster.leaderIndex();
      const first = killLeader ? leader : [0, 1, 2].find((i) => i !== leader)!;
      const order = [first, ...[0, 1, 2].filter((i) => i !== first)];
      const c = etcd.newClient([deadEndpoint, ...order.map((i) => etcd.cluster.members[i]!.endpoint)]);
      const key = `fo-kill-${killLeader ? 'leader' : 'follower'}/k`;
      const put = await c.put(key, 'v');
      expect(memberIndex(put.header.memberId)).toBe(first);

      await etcd.cluster.kill(first);
      const r = await c.range(key);
      expect(r.kvs[0]?.text()).toBe('v');
      const served = memberIndex(r.header.memberId);
      expect(served).toBeGreaterThanOrEqual(0);
      expect(served).not.toBe(first);
      // And it stays usable for writes on the new member.
      const put2 = await c.put(`${key}2`, 'w');
      expect(memberIndex(put2.header.memberId)).not.toBe(first);
      expect(await c.getString(`${key}2`)).toBe('w');
    },
    30_000,
  );
});
