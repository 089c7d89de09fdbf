/**
 * The dashboard over 100,000 keys (1,000 prefixes × 100 keys) on one Concord member: the state
 * pushed to the page stays small (it carries the key count, not the keys), and the Keys view's
 * paging (`/api/keys`) reaches every key exactly once.
 */
import { Client, op } from '../../src/index.js';
import { type Concord, startConcord } from '../harness/concord.js';
import { type DashboardProcess, startDashboardProcess } from './dashboard-process.js';

jest.setTimeout(300_000);

const PREFIXES = 1000;
const PER_PREFIX = 100;
const key = (p: number, k: number) => `scale/p${String(p).padStart(4, '0')}/k${String(k).padStart(3, '0')}`;

let concord: Concord;
let client: Client;
let dashboard: DashboardProcess;

beforeAll(async () => {
  concord = await startConcord();
  client = new Client({ endpoints: [concord.endpoint] });
  const all: string[] = [];
  for (let p = 0; p < PREFIXES; p++) for (let k = 0; k < PER_PREFIX; k++) all.push(key(p, k));
  for (let i = 0; i < all.length; i += 128)
    await client
      .txn()
      .success(...all.slice(i, i + 128).map((k) => op.put(k, 'value')))
      .commit();
  dashboard = await startDashboardProcess([concord.endpoint]);
});

afterAll(async () => {
  await dashboard?.close();
  client?.close();
  await concord?.close();
});

/** The first SSE message of `/api/events`, as the bytes of its `data:` line. */
async function firstEvent(url: string): Promise<string> {
  const ac = new AbortController();
  const r = await fetch(new URL('/api/events', url), { signal: ac.signal });
  const reader = r.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
      const end = text.indexOf('\n\n');
      if (end !== -1) return text.slice(0, end);
    }
  } finally {
    ac.abort();
  }
  return text;
}

test('/api/state and each SSE message stay small over 100k keys', async () => {
  const ms: number[] = [];
  let state = '';
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    state = await (await fetch(new URL('/api/state', dashboard.url))).text();
    ms.push(performance.now() - t);
  }
  const message = await firstEvent(dashboard.url);
  // Figures for the record (not asserted: the machine is shared).
  console.log(
    `/api/state ${Buffer.byteLength(state)} B; one SSE message ${Buffer.byteLength(message)} B; ` +
      `GET /api/state ms: ${ms.map((m) => m.toFixed(0)).join(' ')}`,
  );
  expect(JSON.parse(state).keyCount).toBe(PREFIXES * PER_PREFIX);
  // Before the Keys view paged, both were every key's summary: 10,373,511 bytes.
  expect(Buffer.byteLength(state)).toBeLessThan(16 * 1024);
  expect(Buffer.byteLength(message)).toBeLessThan(16 * 1024);
});

interface Page {
  revision: string;
  prefixes: [string, number][];
  keys: { key: string; version: string; size: number }[];
  more: boolean;
}

const level = async (prefix: string, after: string | undefined, limit: number): Promise<Page> => {
  const q = new URLSearchParams({ prefix, limit: String(limit), ...(after ? { after } : {}) });
  const r = await fetch(new URL(`/api/keys?${q}`, dashboard.url));
  expect(r.status).toBe(200);
  return (await r.json()) as Page;
};

test('paging through every level visits every key exactly once', async () => {
  const seen: string[] = [];
  let requests = 0;
  /** Walks a level page by page, then each child prefix; returns how many keys it saw. */
  const walk = async (prefix: string, limit: number): Promise<number> => {
    const before = seen.length;
    let after: string | undefined;
    for (;;) {
      const page = await level(prefix, after, limit);
      requests++;
      const names = [...page.prefixes.map(([p]) => p), ...page.keys.map((k) => k.key)].sort();
      if (page.more) expect(names.length).toBeGreaterThanOrEqual(limit);
      seen.push(...page.keys.map((k) => k.key));
      for (const [p, n] of page.prefixes) expect(await walk(p, limit)).toBe(n);
      if (!page.more) break;
      after = names.at(-1);
    }
    return seen.length - before;
  };
  // 64 children a page: the 1,000 prefixes take 16 pages, each prefix's 100 keys two.
  expect(await walk('', 64)).toBe(PREFIXES * PER_PREFIX);
  expect(new Set(seen).size).toBe(PREFIXES * PER_PREFIX);
  expect(seen).toEqual([...seen].sort());
  expect(requests).toBe(1 + 16 + PREFIXES * 2);
});

test('a page answers with the key summaries, and refuses a bad limit', async () => {
  const page = await level('scale/p0007/', undefined, 3);
  expect(page.prefixes).toEqual([]);
  expect(page.keys.map((k) => k.key)).toEqual(['scale/p0007/k000', 'scale/p0007/k001', 'scale/p0007/k002']);
  expect(page.keys[0]).toMatchObject({ version: '1', size: 5 });
  expect(page.more).toBe(true);
  expect(BigInt(page.revision)).toBeGreaterThan(0n);
  const root = await level('', undefined, 100);
  expect(root).toMatchObject({ prefixes: [['scale/', PREFIXES * PER_PREFIX]], keys: [], more: false });
  for (const limit of ['0', '1001', 'x'])
    expect((await fetch(new URL(`/api/keys?limit=${limit}`, dashboard.url))).status).toBe(400);
});
