/**
 * client.stm() against real etcd and Concord: a bank (accounts with a known total, concurrent
 * transfers from several clients and another process) keeps its total under every isolation
 * level that promises it, and each level's own guarantee holds; reads of own writes, retry on
 * conflict, abort, and StmConflictError once the retries are spent.
 */
import { type Client, StmConflictError, type StmIsolation, type StmTx } from '../../src/index.js';
import { withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'stm' });

const ACCOUNTS = 5;
const OPENING = 100;
const TOTAL = ACCOUNTS * OPENING;

async function balances(tx: StmTx, prefix: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < ACCOUNTS; i++) out.push(Number(await tx.getString(`${prefix}${i}`)));
  return out;
}

async function transfers(client: Client, prefix: string, isolation: StmIsolation, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const from = i % ACCOUNTS;
    const to = (from + 1 + (i % (ACCOUNTS - 1))) % ACCOUNTS;
    await client.stm(
      async (tx) => {
        const a = Number(await tx.getString(`${prefix}${from}`));
        const b = Number(await tx.getString(`${prefix}${to}`));
        const amount = Math.min(a, 1 + (i % 7));
        tx.put(`${prefix}${from}`, String(a - amount));
        tx.put(`${prefix}${to}`, String(b + amount));
      },
      { isolation, retries: Number.POSITIVE_INFINITY },
    );
  }
}

describe.each<StmIsolation>(['serializable-snapshot', 'serializable', 'repeatable-reads'])(
  'the bank under %s',
  (isolation) => {
    test('keeps its total under concurrent transfers from 3 clients and another process', async () => {
      const prefix = `bank-${isolation}/`;
      for (let i = 0; i < ACCOUNTS; i++) await etcd.client.put(`${prefix}${i}`, String(OPENING));
      const clerk = etcd.fixture('stm-transfer.mjs', {
        PREFIX: prefix,
        ISOLATION: isolation,
        ACCOUNTS: String(ACCOUNTS),
        N: '15',
      });
      let done = false;
      // An auditor: what each attempt saw, and what each committed audit returned.
      const seen: number[] = [];
      const committed: number[] = [];
      const auditor = (async () => {
        while (!done) {
          const sum = await etcd.client.stm(
            async (tx) => {
              const s = (await balances(tx, prefix)).reduce((x, y) => x + y, 0);
              seen.push(s);
              return s;
            },
            { isolation, retries: Number.POSITIVE_INFINITY },
          );
          committed.push(sum);
        }
      })();
      await withTimeout(
        Promise.all([
          ...[0, 1, 2].map(() => transfers(etcd.newClient(), prefix, isolation, 15)),
          clerk.exited.then((code) => expect(code).toBe(0)),
        ]),
        25_000,
        'transfers',
      );
      done = true;
      await auditor;
      expect(clerk.lines).toContain('done');
      // Every committed audit saw the whole total, and so does the end state.
      expect(committed.length).toBeGreaterThan(0);
      for (const s of committed) expect(s).toBe(TOTAL);
      const { kvs } = await etcd.client.range({ prefix });
      expect(kvs.map((kv) => Number(kv.text())).reduce((x, y) => x + y, 0)).toBe(TOTAL);
      for (const kv of kvs) expect(Number(kv.text())).toBeGreaterThanOrEqual(0);
      // The serializable levels read one snapshot: even an attempt that was retried saw the total.
      if (isolation !== 'repeatable-reads') for (const s of seen) expect(s).toBe(TOTAL);
    }, 30_000);
  },
);

test('read committed never retries: every callback runs once and its writes apply', async () => {
  for (let i = 0; i < ACCOUNTS; i++) await etcd.client.put(`rc/${i}`, String(OPENING));
  let runs = 0;
  const cs = [0, 1, 2].map(() => etcd.newClient());
  await Promise.all(
    cs.map((c) =>
      c.stm(
        async (tx) => {
          runs++;
          const a = Number(await tx.getString('rc/0'));
          await etcd.client.put('rc/1', 'changed meanwhile');
          tx.put('rc/0', String(a + 1));
        },
        { isolation: 'read-committed', retries: 0 },
      ),
    ),
  );
  // A concurrent update may be lost here (that is what read committed allows): only the number
  // of runs and the last write's effect are guaranteed.
  expect(runs).toBe(3);
  expect(Number(await etcd.client.getString('rc/0'))).toBeGreaterThan(OPENING);
});

test('a transaction reads its own writes, in gets and ranges', async () => {
  await etcd.client.put('own/a', '1');
  await etcd.client.put('own/b', '2');
  const r = await etcd.client.stm(async (tx) => {
    tx.put('own/a', '10');
    tx.delete('own/b');
    tx.put('own/c', '30');
    return {
      a: await tx.getString('own/a'),
      b: await tx.get('own/b'),
      range: (await tx.range({ prefix: 'own/' })).map((kv) => `${kv.keyText()}=${kv.text()}`),
    };
  });
  expect(r).toEqual({ a: '10', b: undefined, range: ['own/a=10', 'own/c=30'] });
  const { kvs } = await etcd.client.range({ prefix: 'own/' });
  expect(kvs.map((kv) => `${kv.keyText()}=${kv.text()}`)).toEqual(['own/a=10', 'own/c=30']);
});

test('a write between a read and the commit makes the transaction run again', async () => {
  await etcd.client.put('retry/x', '1');
  let attempts = 0;
  const r = await etcd.client.stm(async (tx) => {
    attempts++;
    const x = Number(await tx.getString('retry/x'));
    if (attempts === 1) await etcd.client.put('retry/x', '5');
    tx.put('retry/x', String(x + 1));
    return x;
  });
  expect(attempts).toBe(2);
  expect(r).toBe(5);
  expect(await etcd.client.getString('retry/x')).toBe('6');
});

test('a key created in a range read makes the transaction run again', async () => {
  let attempts = 0;
  await etcd.client.stm(async (tx) => {
    attempts++;
    const n = (await tx.range({ prefix: 'phantom/' })).length;
    if (attempts === 1) await etcd.client.put('phantom/new', 'x');
    tx.put('phantom-count', String(n));
  });
  expect(attempts).toBe(2);
  expect(await etcd.client.getString('phantom-count')).toBe('1');
});

test('serializable reads one snapshot; repeatable reads reads each key at the head', async () => {
  const firstSaw: Record<string, string | undefined> = {};
  for (const isolation of ['serializable', 'repeatable-reads'] as const) {
    await etcd.client.put(`snap-${isolation}/a`, 'old');
    await etcd.client.put(`snap-${isolation}/b`, 'old');
    let attempts = 0;
    await etcd.client.stm(
      async (tx) => {
        attempts++;
        await tx.get(`snap-${isolation}/a`);
        if (attempts === 1) await etcd.client.put(`snap-${isolation}/b`, 'new');
        const b = await tx.getString(`snap-${isolation}/b`);
        if (attempts === 1) firstSaw[isolation] = b;
        tx.put(`snap-${isolation}/seen`, b ?? '');
      },
      { isolation },
    );
  }
  expect(firstSaw).toEqual({ serializable: 'old', 'repeatable-reads': 'new' });
});

test('only serializable snapshot retries when a key written but not read has changed', async () => {
  const attempts: Record<string, number> = {};
  for (const isolation of ['serializable-snapshot', 'serializable'] as const) {
    await etcd.client.put(`blind-${isolation}/r`, 'r');
    attempts[isolation] = 0;
    await etcd.client.stm(
      async (tx) => {
        attempts[isolation]! += 1;
        await tx.get(`blind-${isolation}/r`);
        if (attempts[isolation] === 1) await etcd.client.put(`blind-${isolation}/w`, 'theirs');
        tx.put(`blind-${isolation}/w`, 'mine');
      },
      { isolation },
    );
  }
  expect(attempts).toEqual({ 'serializable-snapshot': 2, serializable: 1 });
});

test('aborting the signal stops retrying', async () => {
  await etcd.client.put('abort/x', '0');
  const ac = new AbortController();
  let attempts = 0;
  const run = etcd.client.stm(
    async (tx) => {
      attempts++;
      const x = Number(await tx.getString('abort/x'));
      await etcd.client.put('abort/x', String(x + 100));
      if (attempts === 2) ac.abort();
      tx.put('abort/x', String(x + 1));
    },
    { signal: ac.signal, retries: Number.POSITIVE_INFINITY },
  );
  await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  expect(attempts).toBe(2);
  expect(await etcd.client.getString('abort/x')).toBe('200');
});

test('a conflict on every attempt ends in StmConflictError once the retries are spent', async () => {
  await etcd.client.put('spent/x', '0');
  let attempts = 0;
  const run = etcd.client.stm(
    async (tx) => {
      attempts++;
      await tx.get('spent/x');
      await etcd.client.put('spent/x', String(attempts));
      tx.put('spent/x', 'mine');
    },
    { retries: 2 },
  );
  await expect(run).rejects.toBeInstanceOf(StmConflictError);
  await expect(run).rejects.toMatchObject({ code: 'stm-conflict', attempts: 3 });
  expect(attempts).toBe(3);
  expect(await etcd.client.getString('spent/x')).toBe('3');
});

test('in a namespace, and over a range to the end of the keyspace, a created key is seen', async () => {
  const ns = etcd.client.namespace('stm-ns/');
  await ns.put('a', '1');
  let attempts = 0;
  const keys = await ns.stm(async (tx) => {
    attempts++;
    const seen = (await tx.range({ fromKey: 'a' })).map((kv) => kv.keyText());
    if (attempts === 1) await etcd.client.put('stm-ns/b', '2');
    tx.put('c', String(seen.length));
    return seen;
  });
  expect(attempts).toBe(2);
  expect(keys).toEqual(['a', 'b']);
  expect(await etcd.client.getString('stm-ns/c')).toBe('2');

  // At the root, { fromKey } ends at the end of the keyspace ("\0" on the wire, in the compare too).
  let rootAttempts = 0;
  await etcd.client.stm(async (tx) => {
    rootAttempts++;
    await tx.range({ fromKey: '\u00ff-stm-tail' });
    if (rootAttempts === 1) await etcd.client.put('\u00ff-stm-tail/x', '1');
    tx.put('stm-tail-count', String(rootAttempts));
  });
  expect(rootAttempts).toBe(2);
});
