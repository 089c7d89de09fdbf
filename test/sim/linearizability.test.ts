/**
 * The linearizability checker on hand-written histories: linearizable ones are accepted,
 * and histories that no order explains (stale reads, lost writes, impossible CAS outcomes)
 * are rejected.
 */
import { checkOperations, type KvInput, type KvOp, type KvOutput, kvModel } from './linearizability.js';

const INF = Number.POSITIVE_INFINITY;
function op(clientId: number, input: KvInput, output: KvOutput | undefined, call: number, ret: number): KvOp {
  return { clientId, input, output, call, ret };
}
const put = (c: number, key: string, value: string, call: number, ret: number) =>
  op(c, { kind: 'put', key, value }, ret === INF ? undefined : {}, call, ret);
const get = (c: number, key: string, value: string | null, call: number, ret: number) =>
  op(c, { kind: 'get', key }, { value }, call, ret);
const cas = (
  c: number,
  key: string,
  expected: string | null,
  value: string,
  ok: boolean | undefined,
  call: number,
  ret: number,
) => op(c, { kind: 'cas', key, expected, value }, ok === undefined ? undefined : { ok }, call, ret);

describe('linearizability checker', () => {
  test.each<[string, KvOp[]]>([
    ['empty', []],
    ['sequential put then get', [put(0, 'k', 'a', 1, 2), get(1, 'k', 'a', 3, 4)]],
    [
      'a read concurrent with a write may see either value (old)',
      [put(0, 'k', 'a', 1, 4), get(1, 'k', null, 2, 3)],
    ],
    [
      'a read concurrent with a write may see either value (new)',
      [put(0, 'k', 'a', 1, 4), get(1, 'k', 'a', 2, 3)],
    ],
    [
      'concurrent writes, reads agree on one order',
      [put(0, 'k', 'a', 1, 5), put(1, 'k', 'b', 2, 6), get(2, 'k', 'b', 7, 8), get(2, 'k', 'b', 9, 10)],
    ],
    [
      'a write with an unknown outcome may take effect late',
      [put(0, 'k', 'a', 1, INF), get(1, 'k', null, 2, 3), get(1, 'k', 'a', 10, 11)],
    ],
    [
      'a write with an unknown outcome may never take effect',
      [put(0, 'k', 'a', 1, INF), get(1, 'k', null, 20, 21)],
    ],
    [
      'compare-and-set succeeds on the current value',
      [put(0, 'k', 'a', 1, 2), cas(1, 'k', 'a', 'b', true, 3, 4), get(0, 'k', 'b', 5, 6)],
    ],
    [
      'keys are independent (partitioned)',
      [put(0, 'x', '1', 1, 2), put(0, 'y', '2', 3, 4), get(1, 'x', '1', 5, 6), get(1, 'y', '2', 7, 8)],
    ],
  ])('accepts: %s', (_name, history) => {
    expect(checkOperations(kvModel, history).ok).toBe(true);
  });

  test.each<[string, KvOp[]]>([
    ['a stale read after a completed write', [put(0, 'k', 'a', 1, 2), get(1, 'k', null, 3, 4)]],
    ['a read of a value never written', [get(0, 'k', 'zz', 1, 2)]],
    [
      'two reads see two writes in opposite orders',
      [
        put(0, 'k', 'a', 1, 10),
        put(1, 'k', 'b', 2, 11),
        get(2, 'k', 'a', 12, 13),
        get(3, 'k', 'b', 14, 15),
        get(2, 'k', 'a', 16, 17),
      ],
    ],
    [
      'a lost write: a later read sees the older value',
      [put(0, 'k', 'a', 1, 2), put(0, 'k', 'b', 3, 4), get(1, 'k', 'a', 5, 6)],
    ],
    [
      'a CAS that reports success on the wrong value',
      [put(0, 'k', 'a', 1, 2), cas(1, 'k', 'x', 'b', true, 3, 4)],
    ],
    [
      'a CAS that reports failure on the right value',
      [put(0, 'k', 'a', 1, 2), cas(1, 'k', 'a', 'b', false, 3, 4)],
    ],
    [
      'two successful CAS from the same value (a double spend)',
      [put(0, 'k', 'a', 1, 2), cas(1, 'k', 'a', 'b', true, 3, 6), cas(2, 'k', 'a', 'c', true, 4, 7)],
    ],
    [
      'a read in the past of a write it observed (real-time order)',
      [get(0, 'k', 'a', 1, 2), put(1, 'k', 'a', 3, 4)],
    ],
  ])('rejects: %s', (_name, history) => {
    const r = checkOperations(kvModel, history);
    expect(r.ok).toBe(false);
    expect(r.failing!.length).toBeGreaterThan(0);
  });

  test('state caching keeps a wide concurrent history tractable', () => {
    // 16 clients each write then read their own value concurrently: 2^16 orders naively.
    const h: KvOp[] = [];
    for (let c = 0; c < 16; c++) h.push(put(c, 'k', `v${c}`, c + 1, 100 + c));
    h.push(get(99, 'k', 'v7', 200, 201));
    expect(checkOperations(kvModel, h).ok).toBe(true);
    h.push(get(99, 'k', 'v8', 202, 203)); // the value cannot change after all writes ended
    expect(checkOperations(kvModel, h).ok).toBe(false);
  });

  test('reports the failing partition only', () => {
    const r = checkOperations(kvModel, [
      put(0, 'x', '1', 1, 2),
      put(0, 'y', '1', 3, 4),
      get(1, 'y', null, 5, 6),
    ]);
    expect(r.ok).toBe(false);
    expect(r.failing!.every((l) => l.includes('(y'))).toBe(true);
  });
});
