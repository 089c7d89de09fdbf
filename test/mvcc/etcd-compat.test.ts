/**
 * The state machine against real etcd 3.4: the same table of requests is sent to a fresh etcd
 * and applied to a fresh StateMachine, and every response (or error code + message) must be
 * identical field by field — headers compared by revision only (cluster, member and raft term
 * belong to the server). Then a watch replaying the whole history is compared the same way.
 */
import { type Channel, createChannel, createClient } from 'nice-grpc';
import { ClientError } from 'nice-grpc-common';
import {
  type CompactionRequest,
  KVDefinition,
  LeaseDefinition,
  type LeaseGrantRequest,
  type LeaseRevokeRequest,
  RangeRequest_SortOrder as Order,
  RangeRequest_SortTarget as Target,
  WatchDefinition,
  WatchRequest,
  type WatchResponse,
} from '../../src/gen/etcdserverpb/rpc.js';
import { MvccError, StateMachine, type WatchSink } from '../../src/mvcc/index.js';
import { type EtcdCluster, startEtcd, withTimeout } from '../harness/etcd.js';
import { cmp, del, opDel, opPut, opRange, opTxn, put, range, txn, watchReq } from './helpers.js';

type Step =
  | { range: ReturnType<typeof range> }
  | { put: ReturnType<typeof put> }
  | { deleteRange: ReturnType<typeof del> }
  | { txn: ReturnType<typeof txn> }
  | { compaction: CompactionRequest }
  | { leaseGrant: LeaseGrantRequest }
  | { leaseRevoke: LeaseRevokeRequest };

const L1 = 0x1234n;
const L2 = 0x5678n;
const many = (n: number) => Array.from({ length: n }, (_, i) => opPut(`m${i}`, 'v'));

/** [label, request]; executed in order against both. */
const STEPS: [string, Step][] = [
  ['put a', { put: put('a', '1') }],
  ['put b', { put: put('b', '2') }],
  ['put c', { put: put('c', '3') }],
  ['put foo', { put: put('foo', 'x') }],
  ['put foo/1', { put: put('foo/1', 'y') }],
  ['put foo/2', { put: put('foo/2', 'zz') }],
  ['put a again, prev_kv', { put: put('a', '11', { prevKv: true }) }],
  ['put zoo binary', { put: put('zoo\xff\x00', '\x00\xff') }],
  ['put a third', { put: put('a', '111') }],
  ['range single', { range: range('a') }],
  ['range missing', { range: range('nope') }],
  ['range [a,c)', { range: range('a', { rangeEnd: Buffer.from('c') }) }],
  ['range prefix foo', { range: range('foo', { rangeEnd: Buffer.from('fop') }) }],
  ['range from b', { range: range('b', { rangeEnd: Buffer.from([0]) }) }],
  ['range all', { range: range('\0', { rangeEnd: Buffer.from([0]) }) }],
  ['range end before key', { range: range('c', { rangeEnd: Buffer.from('a') }) }],
  ['limit 2 more', { range: range('\0', { rangeEnd: Buffer.from([0]), limit: 2n }) }],
  ['limit exact', { range: range('a', { rangeEnd: Buffer.from('c'), limit: 2n }) }],
  ['limit > count', { range: range('a', { rangeEnd: Buffer.from('c'), limit: 10n }) }],
  ['count only', { range: range('\0', { rangeEnd: Buffer.from([0]), countOnly: true }) }],
  ['count only limit', { range: range('\0', { rangeEnd: Buffer.from([0]), countOnly: true, limit: 1n }) }],
  ['keys only', { range: range('\0', { rangeEnd: Buffer.from([0]), keysOnly: true }) }],
  ['sort key desc', { range: range('\0', { rangeEnd: Buffer.from([0]), sortOrder: Order.DESCEND }) }],
  [
    'sort key desc limit',
    { range: range('\0', { rangeEnd: Buffer.from([0]), sortOrder: Order.DESCEND, limit: 3n }) },
  ],
  [
    'sort version asc (default order)',
    { range: range('\0', { rangeEnd: Buffer.from([0]), sortTarget: Target.VERSION }) },
  ],
  [
    'sort version desc',
    {
      range: range('\0', {
        rangeEnd: Buffer.from([0]),
        sortTarget: Target.VERSION,
        sortOrder: Order.DESCEND,
      }),
    },
  ],
  [
    'sort create desc',
    {
      range: range('\0', { rangeEnd: Buffer.from([0]), sortTarget: Target.CREATE, sortOrder: Order.DESCEND }),
    },
  ],
  [
    'sort mod asc limit',
    {
      range: range('\0', {
        rangeEnd: Buffer.from([0]),
        sortTarget: Target.MOD,
        sortOrder: Order.ASCEND,
        limit: 4n,
      }),
    },
  ],
  [
    'sort value desc',
    {
      range: range('\0', { rangeEnd: Buffer.from([0]), sortTarget: Target.VALUE, sortOrder: Order.DESCEND }),
    },
  ],
  ['historical rev 3', { range: range('\0', { rangeEnd: Buffer.from([0]), revision: 3n }) }],
  ['historical rev 8 single', { range: range('a', { revision: 8n }) }],
  ['future rev', { range: range('a', { revision: 1000n }) }],
  ['min mod', { range: range('\0', { rangeEnd: Buffer.from([0]), minModRevision: 6n }) }],
  ['max mod limit', { range: range('\0', { rangeEnd: Buffer.from([0]), maxModRevision: 6n, limit: 2n }) }],
  [
    'min/max create',
    { range: range('\0', { rangeEnd: Buffer.from([0]), minCreateRevision: 3n, maxCreateRevision: 6n }) },
  ],
  ['empty key range', { range: range('') }],
  ['empty key put', { put: put('', 'x') }],
  ['ignore_value missing key', { put: put('nokey', '', { ignoreValue: true }) }],
  ['ignore_lease missing key', { put: put('nokey', 'v', { ignoreLease: true }) }],
  ['ignore_value with value', { put: put('a', 'v', { ignoreValue: true }) }],
  ['ignore_lease with lease', { put: put('a', 'v', { ignoreLease: true, lease: 5n }) }],
  ['put unknown lease', { put: put('a', 'v', { lease: 99n }) }],
  ['grant L1', { leaseGrant: { TTL: 100n, ID: L1 } }],
  ['grant L1 again', { leaseGrant: { TTL: 100n, ID: L1 } }],
  ['grant too large', { leaseGrant: { TTL: 9_000_000_001n, ID: L2 } }],
  ['grant L2', { leaseGrant: { TTL: 50n, ID: L2 } }],
  ['put a with L1, prev', { put: put('a', 'leased', { lease: L1, prevKv: true }) }],
  ['put b with L1', { put: put('b', 'leased', { lease: L1 }) }],
  ['put c with L2', { put: put('c', 'l2', { lease: L2 }) }],
  ['ignore_value keeps value', { put: put('a', '', { ignoreValue: true, prevKv: true }) }],
  ['ignore_lease keeps lease', { put: put('a', 'newval', { ignoreLease: true }) }],
  ['move b to L2', { put: put('b', 'moved', { lease: L2 }) }],
  ['range leased', { range: range('a', { rangeEnd: Buffer.from('d') }) }],
  ['delete missing', { deleteRange: del('nope') }],
  ['delete single prev', { deleteRange: del('foo', { prevKv: true }) }],
  ['delete range prefix prev', { deleteRange: del('foo/', { rangeEnd: Buffer.from('foo0'), prevKv: true }) }],
  ['put foo again (new generation)', { put: put('foo', 'again') }],
  ['range foo', { range: range('foo') }],
  ['txn value = succeed', { txn: txn([cmp('c', 'value', '=', 'l2')], [opPut('t1', 'x'), opRange('t1')]) }],
  ['txn value != fail', { txn: txn([cmp('c', 'value', '!=', 'l2')], [opPut('t1', 'no')], [opRange('c')]) }],
  ['txn version >', { txn: txn([cmp('a', 'version', '>', 2n)], [opPut('t2', 'v')], []) }],
  [
    'txn create <',
    { txn: txn([cmp('a', 'create', '<', 3n)], [opDel('t2', { prevKv: true })], [opPut('t3', 'f')]) },
  ],
  ['txn mod =', { txn: txn([cmp('t1', 'mod', '=', 0n)], [opPut('t4', 'x')], [opPut('t4', 'y')]) }],
  ['txn lease =', { txn: txn([cmp('c', 'lease', '=', L2)], [opPut('t5', 'x')]) }],
  [
    'txn missing key value compare',
    { txn: txn([cmp('nokey', 'value', '=', '')], [opPut('t6', 'x')], [opPut('t6', 'y')]) },
  ],
  ['txn missing key version = 0', { txn: txn([cmp('nokey', 'version', '=', 0n)], [opPut('t7', 'x')]) }],
  [
    'txn compare over range',
    { txn: txn([cmp('t', 'version', '>', 0n, 'u')], [opRange('t', { rangeEnd: Buffer.from('u') })]) },
  ],
  ['txn compare range one fails', { txn: txn([cmp('t', 'version', '=', 1n, 'u')], [], [opRange('t5')]) }],
  [
    'txn read only',
    { txn: txn([cmp('a', 'version', '>', 0n)], [opRange('a'), opRange('b', { revision: 2n })]) },
  ],
  [
    'txn nested',
    {
      txn: txn(
        [cmp('a', 'version', '>', 0n)],
        [
          opPut('n1', 'x'),
          opTxn(
            txn([cmp('n1', 'version', '>', 0n)], [opPut('n2', 'then')], [opPut('n2', 'else'), opRange('n1')]),
          ),
          opRange('n', { rangeEnd: Buffer.from('o') }),
        ],
      ),
    },
  ],
  [
    'txn nested then/else same key ok',
    { txn: txn([], [opTxn(txn([cmp('a', 'version', '>', 0n)], [opPut('n3', '1')], [opPut('n3', '2')]))]) },
  ],
  ['txn empty', { txn: txn([], []) }],
  [
    'txn delete and range in same txn',
    {
      txn: txn(
        [],
        [opDel('n', { rangeEnd: Buffer.from('o') }), opRange('n', { rangeEnd: Buffer.from('o') })],
      ),
    },
  ],
  ['txn dup put', { txn: txn([], [opPut('d', '1'), opPut('d', '2')]) }],
  [
    'txn put inside delete range',
    { txn: txn([], [opDel('c', { rangeEnd: Buffer.from('e') }), opPut('d', '2')]) },
  ],
  ['txn nested dup', { txn: txn([], [opPut('d', '1'), opTxn(txn([], [opPut('d', '2')]))]) }],
  ['txn dup in failure', { txn: txn([], [opPut('d', '1')], [opPut('e', '1'), opPut('e', '2')]) }],
  ['txn too many ops', { txn: txn([], many(129)) }],
  ['txn 128 ops', { txn: txn([], many(128)) }],
  ['txn empty compare key', { txn: txn([cmp('', 'version', '=', 0n)], []) }],
  ['txn empty key put', { txn: txn([], [opPut('', 'x')]) }],
  ['txn future range', { txn: txn([], [opPut('x', '1'), opRange('x', { revision: 10000n })]) }],
  ['txn unknown lease', { txn: txn([], [opPut('x', '1', { lease: 77n })]) }],
  ['txn ignore_value missing', { txn: txn([], [opPut('nokey', '', { ignoreValue: true })]) }],
  ['put prev_kv on a new key', { put: put('fresh', '1', { prevKv: true }) }],
  [
    'keys only + count only',
    { range: range('\0', { rangeEnd: Buffer.from([0]), keysOnly: true, countOnly: true }) },
  ],
  [
    'sort desc by version with limit and min mod',
    {
      range: range('\0', {
        rangeEnd: Buffer.from([0]),
        sortTarget: Target.VERSION,
        sortOrder: Order.DESCEND,
        limit: 2n,
        minModRevision: 10n,
      }),
    },
  ],
  [
    'txn compare from key to the end',
    { txn: txn([cmp('m', 'version', '>', 0n, '\0')], [opRange('m1')], [opRange('m2')]) },
  ],
  ['grant TTL 0 (raised to the minimum)', { leaseGrant: { TTL: 0n, ID: 0x99n } }],
  ['revoke 0x99', { leaseRevoke: { ID: 0x99n } }],
  [
    'delete from key to the end, prev',
    { deleteRange: del('m5', { rangeEnd: Buffer.from([0]), prevKv: true }) },
  ],
  ['range everything left', { range: range('\0', { rangeEnd: Buffer.from([0]), keysOnly: true }) }],
  ['revoke L2 (deletes b, c)', { leaseRevoke: { ID: L2 } }],
  ['revoke L2 again', { leaseRevoke: { ID: L2 } }],
  ['range after revoke', { range: range('a', { rangeEnd: Buffer.from('d') }) }],
  ['revoke L1', { leaseRevoke: { ID: L1 } }],
  ['compact future', { compaction: { revision: 100000n, physical: false } }],
  ['compact 10', { compaction: { revision: 10n, physical: false } }],
  ['compact 10 again', { compaction: { revision: 10n, physical: false } }],
  ['compact 5', { compaction: { revision: 5n, physical: false } }],
  ['range compacted', { range: range('a', { revision: 9n }) }],
  ['range at compact rev', { range: range('\0', { rangeEnd: Buffer.from([0]), revision: 10n }) }],
  ['range after compaction', { range: range('\0', { rangeEnd: Buffer.from([0]) }) }],
  ['txn range compacted', { txn: txn([], [opRange('a', { revision: 2n })]) }],
];

let cluster: EtcdCluster;
let channel: Channel;

beforeAll(async () => {
  cluster = await startEtcd({ members: 1, name: 'mvcc-compat' });
  channel = createChannel(cluster.endpoints[0]!);
}, 40_000);

afterAll(async () => {
  channel?.close();
  await cluster?.close();
});

/** Drops server-owned header fields everywhere in a response. */
function normalize(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'clusterId' || k === 'memberId' || k === 'raftTerm') continue;
      out[k] = normalize(x);
    }
    return out;
  }
  return v;
}

type Outcome = { ok: unknown } | { error: { code: number; message: string } };

async function onEtcd(step: Step): Promise<Outcome> {
  const kv = createClient(KVDefinition, channel);
  const lease = createClient(LeaseDefinition, channel);
  try {
    let r: unknown;
    if ('range' in step) r = await kv.range(step.range);
    else if ('put' in step) r = await kv.put(step.put);
    else if ('deleteRange' in step) r = await kv.deleteRange(step.deleteRange);
    else if ('txn' in step) r = await kv.txn(step.txn);
    else if ('compaction' in step) r = await kv.compact(step.compaction);
    else if ('leaseGrant' in step) r = await lease.leaseGrant(step.leaseGrant);
    else r = await lease.leaseRevoke(step.leaseRevoke);
    return { ok: normalize(r) };
  } catch (err) {
    if (err instanceof ClientError) return { error: { code: err.code, message: err.details } };
    throw err;
  }
}

function onMvcc(sm: StateMachine, step: Step, index: number): Outcome {
  try {
    const r = 'range' in step ? sm.range(step.range) : sm.apply(index, step);
    return { ok: normalize(r) };
  } catch (err) {
    if (err instanceof MvccError) return { error: { code: err.grpcCode, message: err.message } };
    throw err;
  }
}

// etcd's minimum lease TTL here: ceil(1.5 × the harness's 500 ms election timeout) = 1 s.
const sm = new StateMachine({ minLeaseTtlSeconds: 1 });

test('the same requests give the same responses as etcd 3.4', async () => {
  // Before compaction, watch everything from revision 1 on both, to compare histories.
  const mismatches: string[] = [];
  let index = 0;
  for (const [label, step] of STEPS) {
    if (label === 'compact future') await compareWatchHistory(sm);
    const want = await onEtcd(step);
    const got = onMvcc(sm, step, ++index);
    if (process.env.MVCC_COMPAT_VERBOSE) console.log(label, show(want), show(got));
    try {
      expect(got).toEqual(want);
    } catch {
      mismatches.push(`${label}:\n  etcd:   ${show(want)}\n  concord: ${show(got)}`);
    }
  }
  expect(mismatches).toEqual([]);
}, 60_000);

test('a watch from a compacted revision is cancelled like etcd does it', async () => {
  // Runs after the table: both are compacted at 10 and at the same revision.
  expect(sm.compactRevision).toBe(10);
  const req = watchReq('a', { startRevision: 5n });
  const got: WatchResponse[] = [];
  sm.watches.watch(0n, req, {
    send: (r) => {
      got.push(r);
      return true;
    },
  });
  sm.watches.sync();

  const watch = createClient(WatchDefinition, channel);
  const ac = new AbortController();
  const want: WatchResponse[] = [];
  async function* requests() {
    yield WatchRequest.fromPartial({ createRequest: req });
    await new Promise((resolve) => ac.signal.addEventListener('abort', resolve));
  }
  const collect = async () => {
    try {
      for await (const r of watch.watch(requests(), { signal: ac.signal })) {
        if (r.created && !r.canceled) continue;
        want.push(r);
        break;
      }
    } finally {
      ac.abort();
    }
  };
  await withTimeout(collect(), 10_000, 'etcd compacted watch');
  expect(got.map(normalize)).toEqual(want.map(normalize));
}, 20_000);

const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

/** A watch on everything from revision 1 with prev_kv: etcd's stream vs the hub's replay. */
async function compareWatchHistory(sm: StateMachine): Promise<void> {
  const current = sm.revision;
  const req = watchReq('\0', { rangeEnd: Buffer.from([0]), startRevision: 1n, prevKv: true });
  const got: WatchResponse[] = [];
  const sink: WatchSink = {
    send: (r) => {
      got.push(r);
      return true;
    },
  };
  sm.watches.watch(0n, req, sink);
  while (sm.watches.sync() > 0);

  const watch = createClient(WatchDefinition, channel);
  const ac = new AbortController();
  const want: WatchResponse[] = [];
  async function* requests() {
    yield WatchRequest.fromPartial({ createRequest: req });
    await new Promise((resolve) => ac.signal.addEventListener('abort', resolve));
  }
  const collect = async () => {
    try {
      for await (const r of watch.watch(requests(), { signal: ac.signal })) {
        if (r.created) continue;
        want.push(r);
        const last = r.events[r.events.length - 1];
        if (last && last.kv!.modRevision >= BigInt(current)) break;
      }
    } finally {
      ac.abort();
    }
  };
  await withTimeout(collect(), 10_000, 'etcd watch history');
  const events = (rs: WatchResponse[]) => rs.flatMap((r) => r.events).map(normalize);
  expect(events(got)).toEqual(events(want));
  expect(got.every((r) => r.header!.revision === BigInt(current))).toBe(true);
}
