/**
 * Failpoints and mutations, for the fault suite (test/fault) only. Both are read once, at
 * startup, from the environment; unset, they cost one constant `false` test per point.
 *
 * Failpoints are named places in the server where a test run makes the process crash (it
 * SIGKILLs itself, as `kill -9` would) or stall (the whole event loop blocks, as a long GC or a
 * stopped disk would):
 *
 *   CONCORD_FAILPOINTS="wal-before-fsync=crash@5%,apply=sleep(200)"
 *
 * Each entry is `name=action[@P%]`: `crash` or `sleep(ms)`, taken on P% of the hits (default
 * every hit). Callers guard the call: `if (FAILPOINTS) failpoint('apply')`.
 *
 * `apply=throw` plants an apply failure instead: every committed put (alone or in a txn) of a
 * key under `failpoint/apply-throw` throws when applied. It depends on the entry alone, not on
 * chance, so every member fails the same entry, as a real bug in apply would.
 *
 * Mutations are deliberate bugs the fault suite must catch (CONCORD_MUTATION=name[,name]); the
 * names are listed in MUTATIONS. Never set either variable outside a test run.
 */

/** The points the server has. */
export const FAILPOINT_NAMES = [
  'wal-before-fsync',
  'wal-after-fsync',
  'snapshot-install',
  'apply',
  'lease-revoke',
] as const;
export type FailpointName = (typeof FAILPOINT_NAMES)[number];

/** The deliberate bugs, each one a guarantee the fault suite checks. */
export const MUTATIONS = [
  // A follower answers linearizable reads from its own state, without a ReadIndex round.
  'follower-local-reads',
  // A leader answers a write once it is committed by the others, before its own WAL fsync.
  'ack-before-fsync',
  // A new leader does not refresh lease expiries on promotion: every lease expires at once.
  'skip-lease-extension-on-leader-change',
  // A follower sends its votes and append acknowledgements before its WAL write is synced, so
  // a leader may count an entry as committed that the follower loses on a power loss. The
  // simulator, which runs the same Ready step, catches it (test/sim/host-order.test.ts).
  'follower-ack-before-persist',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

interface Action {
  readonly kind: 'crash' | 'sleep' | 'throw';
  readonly ms: number;
  readonly probability: number;
}

/** Parses a CONCORD_FAILPOINTS value; throws on anything it does not understand. */
export function parseFailpoints(spec: string): Map<FailpointName, Action> {
  const out = new Map<FailpointName, Action>();
  for (const part of spec.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const m = /^([a-z-]+)=(crash|throw|sleep\((\d+)\))(?:@(\d+(?:\.\d+)?)%)?$/.exec(entry);
    if (!m) throw new Error(`CONCORD_FAILPOINTS: cannot parse ${JSON.stringify(entry)}`);
    const name = m[1] as FailpointName;
    if (!FAILPOINT_NAMES.includes(name))
      throw new Error(
        `CONCORD_FAILPOINTS: unknown failpoint ${JSON.stringify(name)} (known: ${FAILPOINT_NAMES.join(', ')})`,
      );
    out.set(name, {
      kind: m[2] === 'crash' ? 'crash' : m[2] === 'throw' ? 'throw' : 'sleep',
      ms: m[3] === undefined ? 0 : Number(m[3]),
      probability: m[4] === undefined ? 1 : Number(m[4]) / 100,
    });
  }
  return out;
}

function parseMutations(spec: string): Set<Mutation> {
  const out = new Set<Mutation>();
  for (const part of spec.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    if (!MUTATIONS.includes(name as Mutation))
      throw new Error(
        `CONCORD_MUTATION: unknown mutation ${JSON.stringify(name)} (known: ${MUTATIONS.join(', ')})`,
      );
    out.add(name as Mutation);
  }
  return out;
}

const armed = parseFailpoints(process.env.CONCORD_FAILPOINTS ?? '');
const mutations = parseMutations(process.env.CONCORD_MUTATION ?? '');

/** Whether any failpoint is armed: the guard every caller tests first. */
export const FAILPOINTS = armed.size > 0;

/** Whether this process runs with the deliberate bug `name`. */
export function mutated(name: Mutation): boolean {
  return mutations.has(name);
}

let sleeper: Int32Array | undefined;

/** Blocks the whole thread (event loop included) for `ms`. */
function block(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * Takes the action armed at `name`, if any. A crash never returns; `beforeCrash` models what
 * the crash loses beyond the process (a power loss drops unsynced writes).
 */
export function failpoint(name: FailpointName, beforeCrash?: () => void): void {
  const a = armed.get(name);
  if (!a || a.kind === 'throw' || (a.probability < 1 && Math.random() >= a.probability)) return;
  if (a.kind === 'crash') {
    process.stderr.write(`concord: failpoint ${name}: crash\n`);
    beforeCrash?.();
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL to oneself is delivered before kill() returns on Linux; never go on regardless.
    for (;;) block(1000);
  }
  block(a.ms);
}

/** The keys `apply=throw` fails on. */
export const APPLY_THROW_PREFIX = 'failpoint/apply-throw';

interface PutLike {
  key: Uint8Array;
}
interface OpLike {
  requestPut?: PutLike | undefined;
  requestTxn?: TxnLike | undefined;
}
interface TxnLike {
  success: OpLike[];
  failure: OpLike[];
}

/** `apply=throw`: throws for a request that puts a key under APPLY_THROW_PREFIX. */
export function failApply(req: { put?: PutLike; txn?: TxnLike } | object): void {
  if (armed.get('apply')?.kind !== 'throw') return;
  const planted = (k: Uint8Array) => Buffer.from(k).toString('latin1').startsWith(APPLY_THROW_PREFIX);
  const inTxn = (t: TxnLike): boolean =>
    [...t.success, ...t.failure].some((op) =>
      op.requestPut ? planted(op.requestPut.key) : op.requestTxn ? inTxn(op.requestTxn) : false,
    );
  const r = req as { put?: PutLike; txn?: TxnLike };
  if ((r.put && planted(r.put.key)) || (r.txn && inTxn(r.txn))) throw new Error('failpoint apply: throw');
}
