/**
 * What the fault suite's client processes record (one JSON object per line) and the checks run
 * on it once the cluster has healed:
 *
 * - registers: linearizability of get/put/CAS per key (test/sim/linearizability.ts); a write
 *   whose outcome the client never learnt counts as maybe-applied;
 * - no acknowledged write lost: each acknowledged write is in the cluster's total order of
 *   writes (a watch from revision 1, read after the run) at the revision it was acknowledged with;
 * - txns: both keys of a txn at one revision, or neither;
 * - watches: each segment of each watcher is exactly the total order from where it started (or
 *   resumed) to where it stopped: ordered, no duplicate, no gap, whole revisions, resumed exactly;
 * - revisions never go backwards for a client;
 * - leases: a key is there until S + T after a keepalive sent at S answered TTL T;
 * - locks: writes guarded by the lock carry fencing tokens that never go backwards.
 */
import { checkOperations, type KvInput, type KvOp, type KvOutput, kvModel } from '../sim/linearizability.js';

export interface WorkerConfig {
  kind: 'registers' | 'txns' | 'watches' | 'leases' | 'locks';
  client: number;
  endpoints: string[];
  out: string;
  seed: number;
  /** process.hrtime.bigint() of the run's start, as a decimal string. */
  clockBase: string;
  durationMs: number;
  timeoutMs: number;
  keys?: number;
  leaseTtl?: number;
}

type Time = number;
/** ret null: the outcome is unknown (the call failed or timed out). */
export type WorkerLine =
  | {
      w: 'reg';
      c: number;
      f: 'get' | 'put' | 'cas';
      key: string;
      value?: string | null;
      expected?: string | null;
      ok?: boolean;
      call: Time;
      ret: Time | null;
      rev?: string;
      error?: string;
    }
  | {
      w: 'txn';
      c: number;
      keys: string[];
      value: string;
      ok?: boolean;
      call: Time;
      ret: Time | null;
      rev?: string;
      error?: string;
    }
  | { w: 'watch-start'; c: number; seg: number; from: string | null; at: Time }
  | { w: 'watch'; c: number; seg: number; at: Time; events: [string, 'put' | 'delete', string, string][] }
  | {
      w: 'lease';
      c: number;
      f: 'grant' | 'keepalive' | 'read' | 'revoke';
      key: string;
      id: string;
      ttl?: number;
      found?: boolean;
      call: Time;
      ret: Time | null;
      error?: string;
    }
  | {
      w: 'lock';
      c: number;
      f: 'acquire' | 'write';
      token: string;
      ok?: boolean;
      call: Time;
      ret: Time | null;
      rev?: string;
      error?: string;
    }
  | { w: 'err'; c: number; f: string; key?: string; call: Time; ret: Time; error: string };

/** One event of the total order: [revision, type, key, value]. */
export type TotalEvent = [string, 'put' | 'delete', string, string];

export interface Violation {
  check: string;
  message: string;
  /** Register ops of the failing key, for the picture. */
  ops?: KvOp[];
}

export interface CheckSummary {
  operations: number;
  unknown: number;
  violations: Violation[];
  /** Per check, how many items it looked at. */
  counts: Record<string, number>;
}

/** The register operations as the linearizability checker takes them. */
export function registerOps(lines: readonly WorkerLine[]): KvOp[] {
  const ops: KvOp[] = [];
  for (const l of lines) {
    if (l.w !== 'reg') continue;
    const ret = l.ret === null ? Number.POSITIVE_INFINITY : l.ret;
    let input: KvInput;
    let output: KvOutput | undefined;
    if (l.f === 'get') {
      input = { kind: 'get', key: l.key };
      output = { value: l.value ?? null };
    } else if (l.f === 'put') {
      input = { kind: 'put', key: l.key, value: l.value! };
      output = l.ret === null ? undefined : {};
    } else {
      input = { kind: 'cas', key: l.key, expected: l.expected ?? null, value: l.value! };
      output = l.ret === null ? undefined : { ok: l.ok! };
    }
    ops.push({ clientId: l.c, input, output, call: l.call, ret });
  }
  return ops;
}

/**
 * Runs every check; `total` is the cluster's total order of events (from revision 1), or
 * undefined when the cluster could not give it (the checks that need it are skipped).
 */
export function checkHistory(
  lines: readonly WorkerLine[],
  total: readonly TotalEvent[] | undefined,
): CheckSummary {
  const violations: Violation[] = [];
  const counts: Record<string, number> = {};
  const fail = (check: string, message: string, ops?: KvOp[]) => {
    if (violations.filter((v) => v.check === check).length < 20) violations.push({ check, message, ops });
  };

  // The total order, by revision, and the state of each key at each revision.
  const byRev = new Map<string, TotalEvent[]>();
  for (const e of total ?? []) {
    const list = byRev.get(e[0]);
    if (list) list.push(e);
    else byRev.set(e[0], [e]);
  }
  const at = (rev: string, key: string) => byRev.get(rev)?.find((e) => e[2] === key);

  // Linearizability of the registers.
  const ops = registerOps(lines);
  counts.linearizability = ops.length;
  const lin = checkOperations(kvModel, ops);
  if (!lin.ok) {
    const key = (lin.failing?.[0] ?? '').match(/\((reg\/\d+)/)?.[1];
    fail(
      'linearizability',
      `register history ${lin.undecided ? 'not shown linearizable (the search gave up)' : 'not linearizable'}${key ? ` on ${key}` : ''}:\n${(lin.failing ?? []).slice(0, 60).join('\n')}`,
      key ? ops.filter((o) => o.input.key === key) : undefined,
    );
  }

  if (total) checkAgainstTotal(lines, total, at, fail, counts);

  // Revisions never go backwards for a client.
  const lastRev = new Map<number, bigint>();
  let revs = 0;
  for (const l of [...lines].sort((a, b) => lineTime(a) - lineTime(b))) {
    if (!('rev' in l) || l.rev === undefined || l.ret === null) continue;
    revs++;
    const r = BigInt(l.rev);
    const prev = lastRev.get(l.c);
    if (prev !== undefined && r < prev)
      fail('monotonic-revisions', `client ${l.c}: revision ${r} answered after ${prev}`);
    if (prev === undefined || r > prev) lastRev.set(l.c, r);
  }
  counts.revisions = revs;

  if (total) checkWatches(lines, total, fail, counts);
  checkLeases(lines, fail, counts);
  if (total) checkFencing(lines, total, fail, counts);

  const unknown = lines.filter((l) => 'ret' in l && l.ret === null).length;
  return {
    operations: lines.filter((l) => l.w !== 'watch' && l.w !== 'watch-start').length,
    unknown,
    violations,
    counts,
  };
}

/** No acknowledged write lost, and txns whole: against the total order. */
function checkAgainstTotal(
  lines: readonly WorkerLine[],
  total: readonly TotalEvent[],
  at: (rev: string, key: string) => TotalEvent | undefined,
  fail: Fail,
  counts: Record<string, number>,
) {
  // No acknowledged write lost: each is in the total order at its revision, with its value.
  let acked = 0;
  for (const l of lines) {
    if (!('rev' in l) || l.rev === undefined || l.ret === null) continue;
    const writes: [string, string][] =
      l.w === 'reg' && (l.f === 'put' || (l.f === 'cas' && l.ok))
        ? [[l.key, l.value!]]
        : l.w === 'txn' && l.ok
          ? l.keys.map((k) => [k, l.value])
          : l.w === 'lock' && l.f === 'write' && l.ok
            ? [['fenced', l.token]]
            : [];
    for (const [key, value] of writes) {
      acked++;
      const e = at(l.rev, key);
      if (e?.[1] !== 'put' || e[3] !== value)
        fail(
          'lost-write',
          `client ${l.c}: write ${key}=${value} acknowledged at revision ${l.rev} is not in the total order (found ${JSON.stringify(e ?? null)})`,
        );
    }
  }
  counts['acknowledged-writes'] = acked;

  // Txns: both keys or neither, at one revision.
  let txnsChecked = 0;
  const written = new Map<string, string>();
  for (const e of total) if (e[1] === 'put' && e[2].startsWith('txn/')) written.set(e[2], e[0]);
  for (const l of lines) {
    if (l.w !== 'txn') continue;
    txnsChecked++;
    const revs = l.keys.map((k) => written.get(k));
    if (revs[0] !== revs[1])
      fail(
        'txn-atomicity',
        `client ${l.c}: txn ${l.keys.join(' + ')} applied as revisions ${JSON.stringify(revs)}`,
      );
  }
  counts.txns = txnsChecked;
}

function lineTime(l: WorkerLine): number {
  return 'ret' in l && l.ret !== null ? l.ret : 'at' in l ? l.at : l.call;
}

type Fail = (check: string, message: string) => void;

function checkWatches(
  lines: readonly WorkerLine[],
  total: readonly TotalEvent[],
  fail: Fail,
  counts: Record<string, number>,
) {
  // Each (client, segment): the events it got, and where it started.
  const segs = new Map<string, { from: string | null; events: TotalEvent[] }>();
  for (const l of lines) {
    if (l.w === 'watch-start') segs.set(`${l.c}/${l.seg}`, { from: l.from, events: [] });
    else if (l.w === 'watch') {
      const s = segs.get(`${l.c}/${l.seg}`);
      if (s) s.events.push(...l.events);
      else fail('watch', `client ${l.c}: events of segment ${l.seg} before it started`);
    }
  }
  const index = new Map<string, number>();
  total.forEach((e, i) => {
    if (!index.has(e[0])) index.set(e[0], i);
  });
  const firstAtOrAfter = (rev: bigint): number => {
    // total is sorted by revision.
    let lo = 0;
    let hi = total.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (BigInt(total[mid]![0]) < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let events = 0;
  for (const [name, s] of segs) {
    if (s.events.length === 0) continue;
    events += s.events.length;
    // Where the segment must start in the total order: its start revision, or (a watch of
    // "now") the revision of its first event, which must then be a whole revision's first.
    let i: number;
    if (s.from !== null) i = firstAtOrAfter(BigInt(s.from));
    else {
      const first = index.get(s.events[0]![0]);
      if (first === undefined) {
        fail('watch', `watcher ${name}: revision ${s.events[0]![0]} is not in the total order`);
        continue;
      }
      i = first;
    }
    for (let k = 0; k < s.events.length; k++, i++) {
      const got = s.events[k]!;
      const want = total[i];
      if (!want || want.join('\u0000') !== got.join('\u0000')) {
        fail(
          'watch',
          `watcher ${name} (from ${s.from ?? 'now'}): event ${k} is ${JSON.stringify(got)}, the total order has ${JSON.stringify(want ?? null)} there`,
        );
        break;
      }
    }
    // A segment ends on a whole revision.
    const last = s.events[s.events.length - 1]!;
    if (total[i] && total[i]![0] === last[0])
      fail('watch', `watcher ${name}: stopped in the middle of revision ${last[0]}`);
  }
  counts['watch-events'] = events;
}

function checkLeases(lines: readonly WorkerLine[], fail: Fail, counts: Record<string, number>) {
  const byTime = lines
    .filter((l): l is Extract<WorkerLine, { w: 'lease' }> => l.w === 'lease')
    .sort((a, b) => a.call - b.call);
  let reads = 0;
  for (const l of byTime) {
    if (l.f !== 'read' || l.ret === null) continue;
    reads++;
    // Promises made by keepalives that were sent before this read returned.
    let until = 0;
    for (const p of byTime)
      if (
        p.key === l.key &&
        p.ret !== null &&
        p.call < l.ret &&
        (p.f === 'keepalive' || p.f === 'grant') &&
        p.ttl !== undefined &&
        p.ttl > 0
      )
        until = Math.max(until, p.call + p.ttl * 1e9);
    if (!l.found && l.ret < until)
      fail(
        'lease',
        `client ${l.c}: key ${l.key} (lease ${l.id}) gone at ${(l.ret / 1e6).toFixed(0)} ms, ${((until - l.ret) / 1e6).toFixed(0)} ms before its last keepalive's TTL ran out`,
      );
  }
  counts['lease-reads'] = reads;
}

function checkFencing(
  lines: readonly WorkerLine[],
  total: readonly TotalEvent[],
  fail: Fail,
  counts: Record<string, number>,
) {
  let last = -1n;
  let writes = 0;
  for (const e of total) {
    if (e[2] !== 'fenced' || e[1] !== 'put') continue;
    writes++;
    const token = BigInt(e[3]);
    if (token < last)
      fail('fencing', `fencing token went backwards at revision ${e[0]}: ${token} after ${last}`);
    if (token > last) last = token;
  }
  counts['fenced-writes'] = writes;
  void lines;
}
