/**
 * The Lock and Election services over raw gRPC, against a real `concord serve` and, with the
 * same assertions, against real etcd (which serves both services from its concurrency
 * package): blocking Lock released by Unlock, by the holder's lease expiry and by cancelling it,
 * a waiter whose own lease goes, Campaign/Proclaim/Leader/Resign with Observe following the
 * leader, and the errors etcd answers with (all gRPC code UNKNOWN: etcd's servers return the
 * concurrency package's plain errors).
 */
import { type Channel, ClientError, createChannel, createClient, Status } from 'nice-grpc';
import { KVDefinition, LeaseDefinition } from '../../src/gen/etcdserverpb/rpc.js';
import { ElectionDefinition, type LeaderResponse } from '../../src/gen/v3electionpb/v3election.js';
import { LockDefinition } from '../../src/gen/v3lockpb/v3lock.js';
import { CONCORD_BIN } from '../cluster/concord-bin.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';
import { type EtcdCluster, sleep, startEtcd, waitFor, withTimeout } from '../harness/etcd.js';

const b = (s: string) => Buffer.from(s);
const hex = (id: bigint) => id.toString(16);

/** The fields these tests read from etcd's gateway JSON. */
interface GatewayBody {
  header: Record<string, string>;
  key: string;
  leader: Record<string, string>;
  kv: Record<string, string>;
}

interface Target {
  name: 'concord' | 'etcd';
  start(): Promise<{ endpoint: string; close(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'concord',
    async start() {
      ensureServerBuilt();
      const c: Concord = await startConcord();
      return { endpoint: c.endpoint, close: () => c.close() };
    },
  },
  {
    name: 'etcd',
    async start() {
      const e: EtcdCluster = await startEtcd({ name: 'lock-election' });
      return { endpoint: e.endpoints[0]!, close: () => e.close() };
    },
  },
];

/** The gRPC status a call ended with. */
async function failure(p: Promise<unknown>): Promise<{ code: Status; details: string }> {
  const err = await withTimeout(
    p.then(
      () => new Error('the call succeeded'),
      (e: unknown) => e,
    ),
    20_000,
    'the call to fail',
  );
  if (!(err instanceof ClientError)) throw err;
  return { code: err.code, details: err.details };
}

/** Whether `p` is still pending after the server had a moment to answer. */
async function pending(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await sleep(300);
  return !settled;
}

describe.each(targets)('Lock and Election against $name', (target) => {
  let server: { endpoint: string; close(): Promise<void> };
  let channel: Channel;
  let lock: ReturnType<typeof createClient<typeof LockDefinition>>;
  let election: ReturnType<typeof createClient<typeof ElectionDefinition>>;
  let lease: ReturnType<typeof createClient<typeof LeaseDefinition>>;
  let kv: ReturnType<typeof createClient<typeof KVDefinition>>;

  beforeAll(async () => {
    server = await target.start();
    channel = createChannel(server.endpoint);
    lock = createClient(LockDefinition, channel);
    election = createClient(ElectionDefinition, channel);
    lease = createClient(LeaseDefinition, channel);
    kv = createClient(KVDefinition, channel);
  }, 120_000);

  afterAll(async () => {
    channel?.close();
    await server?.close();
  });

  /** Watchers open on the member: etcd's servers wait with watches too, so both count them. */
  const watchers = async () => {
    const text = await (await fetch(`http://${server.endpoint}/metrics`)).text();
    const m = /^etcd_debugging_mvcc_watcher_total (\d+)$/m.exec(text);
    if (!m) throw new Error('no etcd_debugging_mvcc_watcher_total in /metrics');
    return Number(m[1]);
  };
  const grant = async (ttl = 60) => (await lease.leaseGrant({ TTL: BigInt(ttl), ID: 0n })).ID;
  const keysUnder = async (prefix: string) =>
    (await kv.range({ key: b(prefix), rangeEnd: b(`${prefix.slice(0, -1)}0`) })).kvs.map((k) =>
      k.key.toString(),
    );

  test('lock with an unknown lease: etcd\'s "requested lease not found", code UNKNOWN', async () => {
    expect(await failure(lock.lock({ name: b('unknown'), lease: 0x7e57n }))).toEqual({
      code: Status.UNKNOWN,
      details: 'etcdserver: requested lease not found',
    });
    expect(await keysUnder('unknown/')).toEqual([]);
  });

  test('a blocking Lock is released by Unlock, with the key <name>/<lease hex>', async () => {
    const [a, c] = [await grant(), await grant()];
    const first = await lock.lock({ name: b('l1'), lease: a });
    expect(first.key.toString()).toBe(`l1/${hex(a)}`);
    const second = lock.lock({ name: b('l1'), lease: c });
    await waitFor(async () => (await keysUnder('l1/')).length === 2, { what: 'the waiter to queue' });
    expect(await pending(second)).toBe(true);
    const unlocked = await lock.unlock({ key: first.key });
    const got = await withTimeout(second, 10_000, 'the second Lock');
    expect(got.key.toString()).toBe(`l1/${hex(c)}`);
    expect(got.header!.revision).toBeGreaterThanOrEqual(unlocked.header!.revision);
    expect(await keysUnder('l1/')).toEqual([`l1/${hex(c)}`]);
    await lock.unlock({ key: got.key });
  });

  test("a blocking Lock is released when the holder's lease expires", async () => {
    const holder = await grant(2);
    const waiter = await grant();
    await lock.lock({ name: b('l2'), lease: holder });
    const second = lock.lock({ name: b('l2'), lease: waiter });
    expect(await pending(second)).toBe(true);
    const got = await withTimeout(second, 20_000, 'the Lock after the holder expired');
    expect(got.key.toString()).toBe(`l2/${hex(waiter)}`);
    expect(await keysUnder('l2/')).toEqual([`l2/${hex(waiter)}`]);
  });

  test('a waiter whose own lease is revoked: an error from Concord, a lost lock from etcd 3.4', async () => {
    const holder = await grant();
    const waiter = await grant();
    const held = await lock.lock({ name: b('l3'), lease: holder });
    const second = lock.lock({ name: b('l3'), lease: waiter });
    const outcome = failure(second).catch((e: unknown) => e);
    await waitFor(async () => (await keysUnder('l3/')).length === 2, { what: 'the waiter to queue' });
    await lease.leaseRevoke({ ID: waiter });
    if (target.name === 'concord') {
      // At once, with the error etcd 3.5+ answers once the waiter's turn comes.
      expect(await outcome).toEqual({ code: Status.UNKNOWN, details: 'mutex: session is expired' });
    } else {
      // etcd 3.4 notices nothing: when the holder leaves it grants a lock whose key is gone.
      expect(await pending(second)).toBe(true);
      await lock.unlock({ key: held.key });
      expect((await second).key.toString()).toBe(`l3/${hex(waiter)}`);
      expect(await keysUnder('l3/')).toEqual([]);
    }
  });

  test('a cancelled Lock stops waiting and leaves the queue', async () => {
    const holder = await grant();
    const waiter = await grant();
    await lock.lock({ name: b('l4'), lease: holder });
    const ac = new AbortController();
    const second = lock.lock({ name: b('l4'), lease: waiter }, { signal: ac.signal });
    await waitFor(async () => (await keysUnder('l4/')).length === 2, { what: 'the waiter to queue' });
    expect(await watchers()).toBeGreaterThan(0);
    ac.abort();
    await expect(second).rejects.toThrow();
    await waitFor(async () => (await keysUnder('l4/')).length === 1, {
      what: "the cancelled waiter's key to go",
    });
    expect(await keysUnder('l4/')).toEqual([`l4/${hex(holder)}`]);
    await waitFor(async () => (await watchers()) === 0, { what: 'the waiting to stop' });
  });

  test('Lock and Campaign without a lease run on a fresh 60 s session lease', async () => {
    const l = await lock.lock({ name: b('l5'), lease: 0n });
    const id = BigInt(`0x${l.key.toString().slice('l5/'.length)}`);
    const ttl = await lease.leaseTimeToLive({ ID: id, keys: true });
    expect(ttl.grantedTTL).toBe(60n);
    expect(ttl.keys.map((k) => k.toString())).toEqual([l.key.toString()]);
    const c = await election.campaign({ name: b('e0'), lease: 0n, value: b('v') });
    expect(c.leader!.lease).not.toBe(0n);
    expect(c.leader!.key.toString()).toBe(`e0/${hex(c.leader!.lease)}`);
    expect((await lease.leaseTimeToLive({ ID: c.leader!.lease, keys: false })).grantedTTL).toBe(60n);
  });

  test('Campaign, Proclaim, Leader, Resign, with Observe following the leader', async () => {
    const [a, c] = [await grant(), await grant()];
    const ac = new AbortController();
    const seen: LeaderResponse[] = [];
    const observing = (async () => {
      for await (const r of election.observe({ name: b('e1') }, { signal: ac.signal })) seen.push(r);
    })().catch((e: unknown) => e);
    const values = () => seen.map((r) => r.kv!.value.toString());
    try {
      // Observe waits for a leader when there is none.
      expect(await pending(observing)).toBe(true);
      expect(seen).toEqual([]);

      const ca = await election.campaign({ name: b('e1'), lease: a, value: b('a') });
      const leaderA = ca.leader!;
      expect(leaderA.name.toString()).toBe('e1');
      expect(leaderA.key.toString()).toBe(`e1/${hex(a)}`);
      expect(leaderA.lease).toBe(a);
      expect(leaderA.rev).toBe(ca.header!.revision);
      await waitFor(() => values().length === 1, { what: 'Observe to see the first leader' });
      expect(seen[0]!.kv!.key.toString()).toBe(`e1/${hex(a)}`);
      expect(seen[0]!.kv!.createRevision).toBe(leaderA.rev);

      const leader1 = await election.leader({ name: b('e1') });
      expect(leader1.kv!.value.toString()).toBe('a');
      expect(leader1.kv!.createRevision).toBe(leaderA.rev);

      const proclaimed = await election.proclaim({ leader: leaderA, value: b('a2') });
      await waitFor(() => values().length === 2, { what: 'Observe to see the proclaimed value' });
      expect(values()).toEqual(['a', 'a2']);
      expect(seen[1]!.header!.revision).toBe(proclaimed.header!.revision);
      expect((await election.leader({ name: b('e1') })).kv!.value.toString()).toBe('a2');

      const cc = election.campaign({ name: b('e1'), lease: c, value: b('c') });
      await waitFor(async () => (await keysUnder('e1/')).length === 2, { what: 'the second campaigner' });
      expect(await pending(cc)).toBe(true);
      // The campaigner waiting is no leader: its key changes nothing for observers.
      expect(values()).toEqual(['a', 'a2']);

      await election.resign({ leader: leaderA });
      const leaderC = (await withTimeout(cc, 10_000, 'the second Campaign')).leader!;
      expect(leaderC.key.toString()).toBe(`e1/${hex(c)}`);
      await waitFor(() => values().length === 3, { what: 'Observe to see the new leader' });
      expect(values()).toEqual(['a', 'a2', 'c']);
      expect((await election.leader({ name: b('e1') })).kv!.key.toString()).toBe(`e1/${hex(c)}`);

      // The old LeaderKey proves nothing any more.
      expect(await failure(election.proclaim({ leader: leaderA, value: b('stale') }))).toEqual({
        code: Status.UNKNOWN,
        details: 'election: not leader',
      });
      // Resigning a lost leadership is not an error, and deletes nothing.
      await election.resign({ leader: leaderA });
      expect((await election.leader({ name: b('e1') })).kv!.value.toString()).toBe('c');

      // The new leader resigns: no leader left.
      await election.resign({ leader: leaderC });
      expect(await failure(election.leader({ name: b('e1') }))).toEqual({
        code: Status.UNKNOWN,
        details: 'election: no leader',
      });
    } finally {
      ac.abort();
      await observing;
    }
    await waitFor(async () => (await watchers()) === 0, { what: 'Observe to stop watching' });
  });

  test('campaigning again with the same lease keeps the place and proclaims the new value', async () => {
    const a = await grant();
    const first = await election.campaign({ name: b('e2'), lease: a, value: b('one') });
    const again = await election.campaign({ name: b('e2'), lease: a, value: b('two') });
    expect(again.leader!.rev).toBe(first.leader!.rev);
    // etcd answers with the campaign txn's header: the proclaim came after it.
    expect(again.header!.revision).toBe(first.header!.revision);
    const now = await election.leader({ name: b('e2') });
    expect(now.kv!.value.toString()).toBe('two');
    expect(now.kv!.version).toBe(2n);
    expect(now.kv!.modRevision).toBeGreaterThan(first.header!.revision);
  });

  test("the JSON gateway's unary calls: lock, unlock, campaign, leader, and grpc-gateway's error shape", async () => {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`http://${server.endpoint}${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as GatewayBody };
    };
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const a = await grant();
    const locked = await post('/v3/lock/lock', { name: b64('gw'), lease: String(a) });
    expect(locked.status).toBe(200);
    expect(Buffer.from(locked.body.key, 'base64').toString()).toBe(`gw/${hex(a)}`);
    expect(Object.keys(locked.body.header).sort()).toEqual([
      'cluster_id',
      'member_id',
      'raft_term',
      'revision',
    ]);
    expect((await post('/v3/lock/unlock', { key: locked.body.key })).status).toBe(200);
    const campaign = await post('/v3/election/campaign', {
      name: b64('gwe'),
      lease: String(a),
      value: b64('v'),
    });
    expect(campaign.body.leader).toEqual({
      name: b64('gwe'),
      key: b64(`gwe/${hex(a)}`),
      rev: campaign.body.header.revision,
      lease: String(a),
    });
    const leader = await post('/v3/election/leader', { name: b64('gwe') });
    expect(leader.body.kv.value).toBe(b64('v'));
    expect((await post('/v3/election/resign', { leader: campaign.body.leader })).status).toBe(200);
    expect(await post('/v3/election/leader', { name: b64('gwe') })).toEqual({
      status: 500,
      body: { error: 'election: no leader', message: 'election: no leader', code: 2 },
    });
  });

  test('errors: no leader, not leader, a missing LeaderKey, an empty Unlock key', async () => {
    expect(await failure(election.leader({ name: b('nobody') }))).toEqual({
      code: Status.UNKNOWN,
      details: 'election: no leader',
    });
    const a = await grant();
    const bogus = { name: b('nobody'), key: b('nobody/1'), rev: 5n, lease: a };
    expect(await failure(election.proclaim({ leader: bogus, value: b('x') }))).toEqual({
      code: Status.UNKNOWN,
      details: 'election: not leader',
    });
    expect(await failure(election.proclaim({ value: b('x') }))).toEqual({
      code: Status.UNKNOWN,
      details: '"leader" field must be provided',
    });
    expect(await failure(election.resign({}))).toEqual({
      code: Status.UNKNOWN,
      details: '"leader" field must be provided',
    });
    expect(await failure(election.campaign({ name: b('e3'), lease: 0x7e57n, value: b('v') }))).toEqual({
      code: Status.UNKNOWN,
      details: 'etcdserver: requested lease not found',
    });
    expect(await failure(lock.unlock({ key: b('') }))).toEqual({
      code: Status.UNKNOWN,
      details: 'etcdserver: key is not provided',
    });
    // Unlocking a key that does not exist succeeds.
    const before = (await kv.range({ key: b('x') })).header!.revision;
    expect((await lock.unlock({ key: b('nobody/2') })).header!.revision).toBe(before);
  });
});

/**
 * Three members: waiting happens on the member the call reached, which sees every write
 * applied; so a follower's waiter wakes when the lock is released through another member.
 */
describe.each(['concord', 'etcd'] as const)('Lock and Election through followers (%s, 3 members)', (name) => {
  let cluster: EtcdCluster;
  const channels: Channel[] = [];

  beforeAll(async () => {
    if (name === 'concord') ensureServerBuilt();
    cluster = await startEtcd({
      members: 3,
      name: `lock-election-${name}`,
      ...(name === 'concord' ? { bin: CONCORD_BIN } : {}),
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of channels) c.close();
    await cluster?.close();
  });

  const clients = (i: number) => {
    const ch = createChannel(cluster.endpoints[i]!);
    channels.push(ch);
    return {
      lock: createClient(LockDefinition, ch),
      election: createClient(ElectionDefinition, ch),
      lease: createClient(LeaseDefinition, ch),
    };
  };

  test('a follower waiter gets the lock released through another member; Observe on a follower follows', async () => {
    const lead = await cluster.leaderIndex();
    const [f1, f2] = [0, 1, 2].filter((i) => i !== lead) as [number, number];
    const L = clients(lead);
    const A = clients(f1);
    const B = clients(f2);
    const holder = (await L.lease.leaseGrant({ TTL: 60n, ID: 0n })).ID;
    const waiter = (await A.lease.leaseGrant({ TTL: 60n, ID: 0n })).ID;

    const held = await L.lock.lock({ name: b('fl'), lease: holder });
    const second = A.lock.lock({ name: b('fl'), lease: waiter });
    expect(await pending(second)).toBe(true);
    await B.lock.unlock({ key: held.key });
    expect((await withTimeout(second, 10_000, "the follower's Lock")).key.toString()).toBe(
      `fl/${hex(waiter)}`,
    );

    const ac = new AbortController();
    const seen: string[] = [];
    const observing = (async () => {
      for await (const r of B.election.observe({ name: b('fe') }, { signal: ac.signal }))
        seen.push(r.kv!.value.toString());
    })().catch((e: unknown) => e);
    try {
      const c1 = await A.election.campaign({ name: b('fe'), lease: holder, value: b('one') });
      const c2 = A.election.campaign({ name: b('fe'), lease: waiter, value: b('two') });
      await waitFor(() => seen.length === 1, { what: 'Observe on a follower to see the leader' });
      expect(await pending(c2)).toBe(true);
      await L.election.resign({ leader: c1.leader! });
      await withTimeout(c2, 10_000, "the follower's second Campaign");
      await waitFor(() => seen.length === 2, { what: 'Observe on a follower to see the new leader' });
      expect(seen).toEqual(['one', 'two']);
      expect((await B.election.leader({ name: b('fe') })).kv!.value.toString()).toBe('two');
    } finally {
      ac.abort();
      await observing;
    }
  });
});
