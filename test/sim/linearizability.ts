/**
 * A linearizability checker in the manner of porcupine (Athalye): the Wing & Gong search with
 * Lowe's state caching, run separately on each partition of the history (per key), since a
 * history is linearizable iff each key's sub-history is (locality, Herlihy & Wing).
 *
 * Operations whose outcome is unknown (the client gave up) have ret = Infinity: they may take
 * effect at any point after their call, or never; the model decides which outputs are allowed.
 */

export interface Operation<I, O> {
  readonly clientId: number;
  readonly input: I;
  /** undefined when the outcome is unknown. */
  readonly output: O | undefined;
  /** Distinct, totally ordered event times: call < ret. */
  readonly call: number;
  readonly ret: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Is `output` a legal result of `input` in `state`? Returns the next state if so. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** Splits a history into independent sub-histories (e.g. per key). */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  /** A key identifying a state, for the cache. */
  key(state: S): string;
  describe?(op: Operation<I, O>): string;
}

export interface CheckResult {
  ok: boolean;
  /** For a failure: the ops of the first non-linearizable partition, in call order. */
  failing?: string[];
  /** The search gave up (MAX_STATES) before deciding: not shown linearizable, so not ok. */
  undecided?: boolean;
}

/**
 * States the search may remember per partition. A history full of violations (a deliberate
 * bug in the fault suite's mutation runs) can make it explore without end; past this it stops
 * and says so instead of exhausting memory. Clean histories stay far below it.
 */
export const MAX_STATES = 2_000_000;

interface Node {
  id: number;
  isCall: boolean;
  time: number;
  /** For a call: its return node. */
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array((n + 31) >>> 5);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    return this.words.join(',');
  }
}

/** Checks one partition. */
function checkSingle<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): boolean | 'undecided' {
  const n = ops.length;
  if (n === 0) return true;
  const events: Node[] = [];
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    if (!(op.call < op.ret))
      throw new RangeError(`operation ${i}: call ${op.call} is not before return ${op.ret}`);
    const ret: Node = {
      id: i,
      isCall: false,
      time: op.ret,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    events.push({ id: i, isCall: true, time: op.call, match: ret, prev: undefined, next: undefined }, ret);
  }
  // Unknown returns (Infinity) sort last, in id order.
  events.sort((a, b) => (a.time === b.time ? a.id - b.id : a.time - b.time));
  const head: Node = { id: -1, isCall: false, time: -1, match: undefined, prev: undefined, next: undefined };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  const lift = (e: Node) => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Node) => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  const cache = new Set<string>();
  const linearized = new Bitset(n);
  const stack: { entry: Node; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  while (head.next !== undefined) {
    if (entry === undefined) return false; // cannot happen: a return event always precedes the end
    if (entry.isCall) {
      const op = ops[entry.id]!;
      const r = model.step(state, op.input, op.output);
      if (r.ok) {
        linearized.set(entry.id);
        const k = `${linearized.key()}|${model.key(r.state)}`;
        if (!cache.has(k)) {
          if (cache.size >= MAX_STATES) return 'undecided';
          cache.add(k);
          stack.push({ entry, state });
          state = r.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.id);
      }
      entry = entry.next;
    } else {
      // A return reached with its call not linearized: backtrack.
      const top = stack.pop();
      if (!top) return false;
      state = top.state;
      linearized.clear(top.entry.id);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return true;
}

export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
): CheckResult {
  const parts = model.partition ? model.partition(history) : [history.slice()];
  for (const part of parts) {
    const r = checkSingle(model, part);
    if (r !== true) {
      const sorted = [...part].sort((a, b) => a.call - b.call);
      return {
        ok: false,
        ...(r === 'undecided' ? { undecided: true } : {}),
        failing: sorted.map(
          (op) =>
            `${model.describe ? model.describe(op) : JSON.stringify(op.input)} [${op.call}, ${op.ret === Number.POSITIVE_INFINITY ? '∞' : op.ret}]`,
        ),
      };
    }
  }
  return { ok: true };
}

// ---- the KV model used by the simulator --------------------------------------------------------

export type KvInput =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string };

export type KvOutput = { readonly value: string | null } | { readonly ok: boolean } | Record<string, never>;

export type KvOp = Operation<KvInput, KvOutput>;

/** A register per key: get returns the value (null if never written), put sets, cas compares-and-sets. */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.kind) {
      case 'get':
        if (output === undefined) return { ok: true, state };
        return { ok: (output as { value: string | null }).value === state, state };
      case 'put':
        return { ok: true, state: input.value };
      case 'cas': {
        const hit = state === input.expected;
        if (output === undefined) return { ok: true, state: hit ? input.value : state };
        const ok = (output as { ok: boolean }).ok;
        return { ok: ok === hit, state: hit ? input.value : state };
      }
    }
  },
  partition(ops) {
    const by = new Map<string, KvOp[]>();
    for (const op of ops) {
      const list = by.get(op.input.key);
      if (list) list.push(op);
      else by.set(op.input.key, [op]);
    }
    return [...by.values()];
  },
  key: (s) => (s === null ? '\u0000null' : s),
  describe(op) {
    const i = op.input;
    const out = op.output === undefined ? '?' : JSON.stringify(op.output);
    if (i.kind === 'get') return `c${op.clientId} get(${i.key}) -> ${out}`;
    if (i.kind === 'put') return `c${op.clientId} put(${i.key}, ${i.value}) -> ${out}`;
    return `c${op.clientId} cas(${i.key}, ${i.expected}, ${i.value}) -> ${out}`;
  },
};
