/**
 * The Keys view's pieces: a key's value shown three ways, and one page of a level of the prefix
 * tree as the browser receives it (values stay on the server until a key is opened).
 */
import type { Entry } from './entry.js';
import { leaseHex } from './entry.js';

export interface KeySummary {
  key: string;
  createRevision: string;
  modRevision: string;
  version: string;
  lease: string;
  size: number;
}

/** One page of the children of a prefix, as `GET /api/keys` answers. */
export interface KeysPage {
  /** The store revision the mirror was at. */
  revision: string;
  /** Child prefixes (each ending at a '/') with the number of keys under each. */
  prefixes: [prefix: string, count: number][];
  keys: KeySummary[];
  /** Whether children follow: ask again with `after` the last one shown. */
  more: boolean;
}

export const keySummary = (e: Entry, size: number): KeySummary => ({
  key: e.key,
  createRevision: e.createRevision.toString(),
  modRevision: e.modRevision.toString(),
  version: e.version.toString(),
  lease: e.lease === 0n ? '' : leaseHex(e.lease),
  size,
});

export interface ValueView {
  /** UTF-8 text, or undefined when the bytes are not valid UTF-8. */
  text: string | undefined;
  /** Pretty-printed JSON, when the text parses as JSON. */
  json: string | undefined;
  /** The bytes in hex, 16 per line. */
  hex: string;
}

export function valueView(bytes: Uint8Array): ValueView {
  let text: string | undefined;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = undefined;
  }
  let json: string | undefined;
  if (text !== undefined && /^\s*[[{"\d-tfn]/.test(text)) {
    try {
      json = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      json = undefined;
    }
  }
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16)
    lines.push(Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, '0')).join(' '));
  return { text, json, hex: lines.join('\n') };
}
