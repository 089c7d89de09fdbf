/**
 * The waiter registry of the raft loop: answers, failures and deadlines in one place. Deadlines
 * are not in insertion order (a publish waits two election timeouts, a request a whole request
 * timeout): expiry must look at every waiter, not stop at the first one still in time.
 */
import { CanceledError } from '../../../src/server/errors.js';
import { abortable, ProposalWaiters } from '../../../src/server/raft/proposal-waiters.js';
import { ReadIndexBatcher } from '../../../src/server/raft/read-index.js';

const outcome = (p: Promise<unknown>) =>
  p.then(
    (v) => `ok ${String(v)}`,
    (e: Error) => `failed ${e.message}`,
  );

test('a short deadline registered after a long one still expires', async () => {
  const w = new ProposalWaiters();
  const long = outcome(w.add(1, 10_000));
  const short = outcome(w.add(2, 100));
  w.expire(500, () => new Error('timed out'));
  expect(await short).toBe('failed timed out');
  expect(w.has(1)).toBe(true);
  w.settle(1, 'applied');
  expect(await long).toBe('ok applied');
  expect(w.size).toBe(0);
});

test('leader change fails what was handed over, not what keeps on leader change', async () => {
  const w = new ProposalWaiters();
  const plain = outcome(w.add(1, 1000));
  const conf = outcome(w.add(2, 1000, { keepOnLeaderChange: true }));
  const queued = outcome(w.add(3, 1000));
  w.fail(new Error('leader changed'), (counter, f) => counter !== 3 && !f.keepOnLeaderChange);
  expect(await plain).toBe('failed leader changed');
  w.settle(2, 'conf');
  w.settle(3, undefined, new Error('refused'));
  expect(await conf).toBe('ok conf');
  expect(await queued).toBe('failed refused');
  w.rejectAll(new Error('stopped'));
});

test('abortable gives CanceledError on abort and leaves the proposal alone', async () => {
  const w = new ProposalWaiters();
  const ac = new AbortController();
  const p = abortable(w.add(1, 1000), ac.signal);
  ac.abort();
  await expect(p).rejects.toBeInstanceOf(CanceledError);
  expect(w.has(1)).toBe(true);
  w.rejectAll(new Error('stopped'));
});

test('reads of one turn share one round, answered once applied up to its index', async () => {
  const r = new ReadIndexBatcher(7n);
  const a = outcome(r.add(1000));
  const b = outcome(r.add(1000));
  const ctx = r.flush()!;
  expect(r.flush()).toBeUndefined();
  const c = outcome(r.add(1000));
  r.onReadStates([{ index: 5, requestCtx: ctx }]);
  r.serve(4);
  r.serve(5);
  expect([await a, await b]).toEqual(['ok undefined', 'ok undefined']);
  // Another member's round is not ours.
  const other = Buffer.from(ctx);
  other.writeBigUInt64BE(8n, 0);
  r.onReadStates([{ index: 1, requestCtx: other }]);
  r.expire(2000, () => new Error('timed out'));
  expect(await c).toBe('failed timed out');
});
