/**
 * Type tests for the public API: checked by `npm run typecheck` (tsc over test/), which CI runs.
 * The functions below are never called; a type that drifts breaks the build, not a test.
 */
import {
  type Client,
  CompactedError,
  type CompareSpec,
  compare,
  EtcdError,
  type KeyValue,
  type Lease,
  type OpResult,
  op,
  type RangeResult,
  type Watch,
  type WatchEvent,
} from '../../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<_T extends true>(): void {}

export async function typeOnly(c: Client): Promise<void> {
  assertType<Equal<Awaited<ReturnType<Client['get']>>, KeyValue | undefined>>();
  assertType<Equal<Awaited<ReturnType<Client['range']>>, RangeResult>>();
  assertType<Equal<Awaited<ReturnType<Client['watch']>>, Watch>>();
  assertType<Equal<Awaited<ReturnType<Client['lease']>>, Lease>>();
  assertType<Equal<KeyValue['createRevision'], bigint>>();
  assertType<Equal<Lease['id'], bigint>>();
  assertType<Equal<Awaited<ReturnType<typeof c.leases>>, bigint[]>>();

  for await (const ev of await c.watch({ prefix: 'a/' })) {
    assertType<Equal<typeof ev, WatchEvent>>();
    assertType<Equal<typeof ev.type, 'put' | 'delete'>>();
  }

  const r = await c
    .txn()
    .if(compare.value('k', '==', 'v'))
    .success(op.put('k', 'w'))
    .commit();
  const first: OpResult | undefined = r.responses[0];
  if (first?.type === 'range') assertType<Equal<typeof first.kvs, KeyValue[]>>();
  const cmp: CompareSpec = compare.version('k', '>', 0);
  void cmp;

  // @ts-expect-error keys are strings or bytes, not numbers
  await c.put(1, 'x');
  // @ts-expect-error compare operators are ==, !=, > and <
  compare.value('k', '>=', 'v');
  // @ts-expect-error a txn builder is not a thenable: no then()
  c.txn().then;
  // @ts-expect-error range selectors are a key, { prefix }, { fromKey } or { key, end }
  await c.range({ suffix: 'x' });
  // @ts-expect-error sort targets are key, version, create, mod, value
  await c.range('k', { sort: { target: 'lease' } });
  await c.get('k', { signal: AbortSignal.timeout(10), timeoutMs: 5 });
  const e: unknown = undefined;
  if (e instanceof CompactedError) assertType<Equal<typeof e.compactRevision, bigint | undefined>>();
  if (e instanceof EtcdError) assertType<Equal<typeof e.code, string>>();
}

test('the type assertions above are compiled by npm run typecheck', () => {
  expect(typeof typeOnly).toBe('function');
});
