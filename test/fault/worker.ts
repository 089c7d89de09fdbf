/**
 * One client process of the fault suite: runs one workload against the cluster until its
 * deadline and writes every operation to a file, one JSON object per line (history.ts reads
 * them). Times are CLOCK_MONOTONIC nanoseconds since the run's `clockBase`, the same clock in
 * every process on the machine, so histories from several processes merge into one.
 *
 *   node worker.js '<WorkerConfig as JSON>'
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { lock } from '../../recipes/index.js';
import { Client, compare, type Lease, op } from '../../src/index.js';
import type { WorkerConfig, WorkerLine } from './history.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const base = BigInt(cfg.clockBase);
const now = (): number => Number(process.hrtime.bigint() - base);
const fd = openSync(cfg.out, 'a');
const emit = (line: WorkerLine): void => {
  writeSync(fd, `${JSON.stringify(line)}\n`);
};
const c = cfg.client;
const client = new Client({ endpoints: cfg.endpoints, timeoutMs: cfg.timeoutMs });
const deadline = Date.now() + cfg.durationMs;
let stopped = false;
// The run's end: finish the operation in flight, then exit.
process.on('SIGTERM', () => {
  stopped = true;
});
const running = () => !stopped && Date.now() < deadline;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// A small seeded generator (mulberry32): a worker's choices replay from the run's seed.
let rng = cfg.seed >>> 0;
const random = (): number => {
  rng = (rng + 0x6d2b79f5) >>> 0;
  let t = rng;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const errText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 200);

async function registers(): Promise<void> {
  const keys = Array.from({ length: cfg.keys ?? 3 }, (_, i) => `reg/${i}`);
  const seen = new Map<string, string | null>();
  for (let n = 0; running(); n++) {
    const key = pick(keys);
    const r = random();
    const call = now();
    if (r < 0.4) {
      try {
        const res = await client.range(key);
        const value = res.kvs[0]?.value.toString() ?? null;
        seen.set(key, value);
        emit({ w: 'reg', c, f: 'get', key, call, ret: now(), value, rev: String(res.header.revision) });
      } catch (err) {
        // A read that failed changed nothing: it is left out of the history.
        emit({ w: 'err', c, f: 'get', key, call, ret: now(), error: errText(err) });
      }
    } else if (r < 0.7) {
      const value = `${c}.${n}`;
      try {
        const res = await client.put(key, value);
        emit({ w: 'reg', c, f: 'put', key, value, call, ret: now(), rev: String(res.header.revision) });
      } catch (err) {
        emit({ w: 'reg', c, f: 'put', key, value, call, ret: null, error: errText(err) });
      }
    } else {
      const expected = seen.get(key) ?? null;
      const value = `${c}.${n}`;
      const t = client
        .txn()
        .if(expected === null ? compare.missing(key) : compare.value(key, '==', expected))
        .success(op.put(key, value));
      try {
        const res = await t.commit();
        emit({
          w: 'reg',
          c,
          f: 'cas',
          key,
          expected,
          value,
          ok: res.succeeded,
          call,
          ret: now(),
          rev: String(res.header.revision),
        });
      } catch (err) {
        emit({ w: 'reg', c, f: 'cas', key, expected, value, call, ret: null, error: errText(err) });
      }
    }
  }
}

/** Two keys written by one txn: a watcher must see both at one revision, the end state both or neither. */
async function txns(): Promise<void> {
  for (let n = 0; running(); n++) {
    const keys = [`txn/${c}/${n}/a`, `txn/${c}/${n}/b`];
    const value = `${c}.${n}`;
    const call = now();
    try {
      const res = await client
        .txn()
        .if(compare.missing(keys[0]!))
        .success(...keys.map((k) => op.put(k, value)))
        .commit();
      emit({
        w: 'txn',
        c,
        keys,
        value,
        ok: res.succeeded,
        call,
        ret: now(),
        rev: String(res.header.revision),
      });
    } catch (err) {
      emit({ w: 'txn', c, keys, value, call, ret: null, error: errText(err) });
    }
  }
}

/**
 * A watch on everything, cancelled now and then and resumed from the revision after the last
 * one seen: every segment must continue exactly where the one before stopped.
 */
async function watches(): Promise<void> {
  let from: bigint | undefined;
  for (let seg = 0; running(); seg++) {
    const ac = new AbortController();
    const segEnd = Math.min(deadline, Date.now() + 1000 + random() * 4000);
    const timer = setTimeout(() => ac.abort(), segEnd - Date.now());
    try {
      const w = await client.watch(
        { prefix: '' },
        { signal: ac.signal, ...(from === undefined ? {} : { startRevision: from }) },
      );
      emit({ w: 'watch-start', c, seg, from: from === undefined ? null : String(from), at: now() });
      for await (const batch of w.batches()) {
        if (batch.events.length === 0) continue;
        emit({
          w: 'watch',
          c,
          seg,
          at: now(),
          events: batch.events.map((e) => [
            String(e.revision),
            e.type,
            e.key.toString(),
            e.type === 'put' ? e.kv.value.toString() : '',
          ]),
        });
        from = batch.events[batch.events.length - 1]!.revision + 1n;
      }
    } catch (err) {
      if (!ac.signal.aborted) {
        emit({ w: 'err', c, f: 'watch', call: now(), ret: now(), error: errText(err) });
        await sleep(100);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Keys on leases kept alive by hand: after a keepalive sent at S answers TTL T, the key must be
 * there until S + T seconds, whoever leads the cluster meanwhile.
 */
async function leases(): Promise<void> {
  const ttl = cfg.leaseTtl ?? 5;
  for (let n = 0; running(); n++) {
    const key = `lease/${c}/${n}`;
    let lease: Lease;
    const call = now();
    try {
      lease = await client.lease({ ttl, keepAlive: false });
      await client.put(key, 'x', { lease });
      emit({ w: 'lease', c, f: 'grant', key, id: lease.id.toString(16), ttl: lease.ttl, call, ret: now() });
    } catch (err) {
      emit({ w: 'err', c, f: 'lease-grant', call, ret: now(), error: errText(err) });
      await sleep(200);
      continue;
    }
    const holdUntil = Date.now() + 2000 + random() * 8000;
    while (running() && Date.now() < holdUntil) {
      // Well inside the TTL, but far enough apart that a lease wrongly expired by a new leader
      // is revoked before the next keepalive could save it.
      await sleep(1000 + random() * 1500);
      const sent = now();
      try {
        const granted = await lease.keepAliveOnce();
        emit({
          w: 'lease',
          c,
          f: 'keepalive',
          key,
          id: lease.id.toString(16),
          ttl: granted,
          call: sent,
          ret: now(),
        });
      } catch (err) {
        emit({ w: 'err', c, f: 'keepalive', call: sent, ret: now(), error: errText(err) });
      }
      const read = now();
      try {
        const res = await client.range(key);
        emit({
          w: 'lease',
          c,
          f: 'read',
          key,
          id: lease.id.toString(16),
          found: res.kvs.length > 0,
          call: read,
          ret: now(),
        });
        if (res.kvs.length === 0) break;
      } catch (err) {
        emit({ w: 'err', c, f: 'lease-read', call: read, ret: now(), error: errText(err) });
      }
    }
    const rv = now();
    try {
      await lease.revoke();
      emit({ w: 'lease', c, f: 'revoke', key, id: lease.id.toString(16), call: rv, ret: now() });
    } catch (err) {
      // Unknown outcome: from now on the key may be gone.
      emit({
        w: 'lease',
        c,
        f: 'revoke',
        key,
        id: lease.id.toString(16),
        call: rv,
        ret: null,
        error: errText(err),
      });
    }
  }
}

/** lock() holders, each writing its fencing token to one resource through the lock's guard. */
async function locks(): Promise<void> {
  while (running()) {
    const call = now();
    try {
      const held = await lock(client, 'fault-lock', {
        ttl: cfg.leaseTtl ?? 5,
        waitTimeoutMs: Math.max(1, Math.min(5000, deadline - Date.now())),
      });
      const token = held.fencingToken;
      emit({ w: 'lock', c, f: 'acquire', token: String(token), call, ret: now() });
      await sleep(random() * 100);
      const wcall = now();
      try {
        const res = await client
          .txn()
          .if(held.guard())
          .success(op.put('fenced', String(token)))
          .commit();
        emit({
          w: 'lock',
          c,
          f: 'write',
          token: String(token),
          ok: res.succeeded,
          call: wcall,
          ret: now(),
          rev: String(res.header.revision),
        });
      } catch (err) {
        emit({ w: 'lock', c, f: 'write', token: String(token), call: wcall, ret: null, error: errText(err) });
      }
      await held.release().catch(() => {});
    } catch (err) {
      emit({ w: 'err', c, f: 'lock', call, ret: now(), error: errText(err) });
      await sleep(100);
    }
  }
}

const workloads = { registers, txns, watches, leases, locks };

workloads[cfg.kind]()
  .catch((err: unknown) => {
    emit({ w: 'err', c, f: 'worker', call: now(), ret: now(), error: errText(err) });
    process.exitCode = 1;
  })
  .finally(() => {
    closeSync(fd);
    client.close();
    // Anything still held (a lock's keepalive) must not keep the worker past its deadline.
    setTimeout(() => process.exit(), 100).unref();
  });
