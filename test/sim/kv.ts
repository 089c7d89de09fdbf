/**
 * The simulator's replicated state machine: string registers with put and compare-and-set,
 * plus the outcome of every command by id (so the node a client talks to can answer it).
 */

export type Command =
  | { readonly op: 'put'; readonly id: number; readonly key: string; readonly value: string }
  | {
      readonly op: 'cas';
      readonly id: number;
      readonly key: string;
      readonly expected: string | null;
      readonly value: string;
    }
  | { readonly op: 'marker'; readonly id: number };

export type CommandResult = { readonly ok: boolean };

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeCommand(c: Command): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

export function decodeCommand(data: Uint8Array): Command {
  return JSON.parse(dec.decode(data)) as Command;
}

export class KvStore {
  data = new Map<string, string>();
  results = new Map<number, CommandResult>();

  apply(c: Command): CommandResult {
    // The simulated network duplicates forwarded proposals: apply each command once.
    const done = this.results.get(c.id);
    if (done) return done;
    let r: CommandResult;
    if (c.op === 'put') {
      this.data.set(c.key, c.value);
      r = { ok: true };
    } else if (c.op === 'cas') {
      const cur = this.data.get(c.key) ?? null;
      r = { ok: cur === c.expected };
      if (r.ok) this.data.set(c.key, c.value);
    } else {
      r = { ok: true };
    }
    this.results.set(c.id, r);
    return r;
  }

  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  /** A canonical dump: equal states give equal strings. */
  dump(): string {
    return JSON.stringify([...this.data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify({ d: [...this.data], r: [...this.results] }));
  }

  static restore(data: Uint8Array): KvStore {
    const kv = new KvStore();
    if (data.length === 0) return kv;
    const o = JSON.parse(dec.decode(data)) as { d: [string, string][]; r: [number, CommandResult][] };
    kv.data = new Map(o.d);
    kv.results = new Map(o.r);
    return kv;
  }
}
