/**
 * A recipe's name is the key (or the prefix) it keeps its state under: it must be a non-empty
 * string, checked before any request is made.
 */
export function checkRecipeName(what: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`${what} name must be a non-empty string, got ${JSON.stringify(name)}`);
  }
}

const encoder = new TextEncoder();
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/**
 * Text and bytes joined into one key: a Buffer where the runtime has one (as the SDK returns
 * keys, and as the recipes' types promise), else a Uint8Array (browsers have no Buffer).
 */
export function keyOf(...parts: (string | Uint8Array)[]): Buffer {
  const bytes = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return (NodeBuffer ? NodeBuffer.from(out.buffer, out.byteOffset, out.byteLength) : out) as Buffer;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `b` as a string that identifies it (a Map key). */
export function bytesId(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
