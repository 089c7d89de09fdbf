/**
 * The layout of Go's `go.etcd.io/etcd/client/v3/naming/endpoints` (what Go's gRPC resolver
 * `etcd:///<target>` reads): key `<target>/<addr>`, value `internal.Update{Op, Addr, Metadata}`
 * as Go's `encoding/json` marshals it. Go's reader takes every put under `<target>/` as an
 * added endpoint (whatever its `Op`), skips values that do not unmarshal, and matches field
 * names case-insensitively.
 */
import type { KeyValue } from '../../src/core.js';

/**
 * `v` as Go's `json.Marshal` writes the same value decoded into `any`: object keys sorted (Go
 * sorts map keys), `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c` …, no spaces.
 * (Keys are sorted by UTF-16 code unit, Go by UTF-8 byte: they differ only for keys mixing
 * characters above U+FFFF with ones from U+E000 to U+FFFF.)
 */
export function goJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(x).sort()) sorted[k] = (x as Record<string, unknown>)[k];
    return sorted;
  }).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The value Go's `endpoints.Manager.AddEndpoint` writes for `Endpoint{Addr, Metadata}` (nil: undefined). */
export function goEndpointValue(addr: string, metadata: unknown): string {
  return `{"Op":0,"Addr":${goJson(addr)},"Metadata":${metadata === undefined ? 'null' : goJson(metadata)}}`;
}

/** A field as Go's `json.Unmarshal` finds it: the exact name first, else case-insensitively. */
function goField(o: Record<string, unknown>, name: string): unknown {
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  const k = Object.keys(o).find((x) => x.toLowerCase() === lower);
  return k === undefined ? undefined : o[k];
}

/** `{ addr, metadata }` of a value in Go's layout, or undefined where Go's reader would skip it. */
export function parseGoEndpoint(kv: KeyValue): { addr: string; metadata: unknown } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(kv.text());
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const addr = goField(o, 'Addr') ?? '';
  const op = goField(o, 'Op') ?? 0;
  // Go refuses a value whose Addr is not a string, or whose Op is not a uint8.
  if (typeof addr !== 'string' || typeof op !== 'number' || !Number.isInteger(op) || op < 0 || op > 255) {
    return undefined;
  }
  return { addr, metadata: goField(o, 'Metadata') ?? undefined };
}
