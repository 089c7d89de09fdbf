/**
 * An HTML page with an SVG timeline of the smallest failing window of a register history: the
 * shortest prefix (by call time) that the checker still rejects, its last operations drawn as
 * bars from call to return, one row per client (porcupine's picture, in miniature).
 */
import { checkOperations, type KvOp, kvModel } from '../sim/linearizability.js';

/** The shortest prefix of `ops` (ordered by call) that is not linearizable. */
export function smallestFailingPrefix(ops: readonly KvOp[]): KvOp[] {
  const sorted = [...ops].sort((a, b) => a.call - b.call);
  let lo = 1;
  let hi = sorted.length;
  // Returns that come after the cut are unknown to the prefix: the ops keep their own.
  const fails = (k: number) => !checkOperations(kvModel, sorted.slice(0, k)).ok;
  if (!fails(hi)) return sorted;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (fails(mid)) hi = mid;
    else lo = mid + 1;
  }
  return sorted.slice(0, hi);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderWindow(ops: readonly KvOp[], last = 40): string {
  const prefix = smallestFailingPrefix(ops);
  const shown = prefix.slice(-last);
  const t0 = Math.min(...shown.map((o) => o.call));
  const finite = shown.flatMap((o) => [o.call, Number.isFinite(o.ret) ? o.ret : o.call]);
  const t1 = Math.max(...finite) + 1;
  const clients = [...new Set(shown.map((o) => o.clientId))].sort((a, b) => a - b);
  const width = 1200;
  const row = 34;
  const x = (t: number) => 110 + ((t - t0) / (t1 - t0)) * (width - 130);
  const bars = shown.map((o, k) => {
    const y = 20 + clients.indexOf(o.clientId) * row + (k % 2) * 14;
    const unknown = !Number.isFinite(o.ret);
    const x1 = x(o.call);
    const x2 = unknown ? width - 10 : Math.max(x(o.ret), x1 + 2);
    const label = kvModel.describe!(o);
    const last = k === shown.length - 1;
    return `<g><title>${esc(label)}</title><rect x="${x1}" y="${y}" width="${x2 - x1}" height="11" fill="${last ? '#e33' : unknown ? '#bbb' : '#69c'}" ${unknown ? 'stroke-dasharray="3,2" stroke="#888"' : ''}/><text x="${x1 + 2}" y="${y + 9}" font-size="8">${esc(label.replace(/^c\d+ /, ''))}</text></g>`;
  });
  const labels = clients.map((c, i) => `<text x="4" y="${30 + i * row}" font-size="11">client ${c}</text>`);
  const height = 30 + clients.length * row;
  return `<!doctype html><meta charset="utf-8"><title>smallest failing window</title>
<p>The shortest prefix of the history of ${esc(shown[0] ? shown[0].input.key : '')} that is not linearizable has ${prefix.length} operations; the last ${shown.length} are drawn (the last one, red, cannot be placed; grey: outcome unknown). Times in ns; hover for details.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${labels.join('')}${bars.join('')}</svg>
<pre>${esc(shown.map((o) => `${kvModel.describe!(o)} [${o.call}, ${Number.isFinite(o.ret) ? o.ret : '∞'}]`).join('\n'))}</pre>
`;
}
