/**
 * Go's base64.StdEncoding, which etcd's gateway decodes bytes fields with: Node's decoder skips
 * what Go refuses, and Go's refusal names the byte it stopped at, which etcd's answer quotes.
 */
import { invalid } from './gateway-json-error.js';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Int16Array(256).fill(-1);
for (let i = 0; i < BASE64.length; i++) BASE64_VALUE[BASE64.charCodeAt(i)] = i;

/**
 * Go's base64.StdEncoding.Decode: padded, \r and \n skipped anywhere, anything else refused
 * with `illegal base64 data at input byte N` (N counts the skipped bytes too).
 */
export function goBase64(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(src.length / 4) * 3);
  let n = 0;
  const corrupt = (at: number) => invalid(`illegal base64 data at input byte ${at}`);
  const isNewline = (c: number | undefined) => c === 0x0a || c === 0x0d;
  let si = 0;
  while (si < src.length) {
    // decodeQuantum: up to four symbols, to up to three bytes.
    let q = 0;
    let dlen = 4;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return out.subarray(0, n);
        throw corrupt(si - j);
      }
      const c = src[si]!;
      si++;
      const value = BASE64_VALUE[c]!;
      if (value >= 0) {
        q |= value << (18 - 6 * j);
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== 0x3d || j < 2) throw corrupt(si - 1);
      if (j === 2) {
        // "==" is expected: the first "=" is read; skip newlines before the second.
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== 0x3d) throw corrupt(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) throw corrupt(si);
      dlen = j;
      break;
    }
    if (dlen > 1) out[n++] = (q >> 16) & 0xff;
    if (dlen > 2) out[n++] = (q >> 8) & 0xff;
    if (dlen > 3) out[n++] = q & 0xff;
  }
  return out.subarray(0, n);
}
