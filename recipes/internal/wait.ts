/**
 * Waiting primitives shared by the queue-based recipes (lock, election, semaphore…): wait until
 * a key is deleted, and wait until every key of a prefix created before a revision is gone —
 * watching only the nearest predecessor each time, so a release wakes one waiter, not all.
 */
import { type Client, CompactedError, type Namespace } from '../../src/core.js';

type KV = Client | Namespace;

/**
 * A watch from `rev` failed with `e`: when the history it needed is compacted, the key itself is
 * read — the revision it is seen at now, or undefined when it is gone. Any other error is thrown.
 */
async function stillThere(
  kv: KV,
  key: Buffer,
  e: unknown,
  signal?: AbortSignal,
): Promise<bigint | undefined> {
  if (!(e instanceof CompactedError)) throw e;
  const r = await kv.range(key, { signal });
  return r.kvs.length === 0 ? undefined : r.header.revision;
}

/** Resolves once `key` does not exist (after `rev`, the revision it was last seen at). */
export async function waitDelete(kv: KV, key: Buffer, rev: bigint, signal?: AbortSignal): Promise<void> {
  for (;;) {
    signal?.throwIfAborted();
    let watch: Awaited<ReturnType<KV['watch']>>;
    try {
      watch = await kv.watch(key, {
        startRevision: rev + 1n,
        filters: { noPut: true },
        signal,
        timeoutMs: 0,
      });
    } catch (e) {
      const seen = await stillThere(kv, key, e, signal);
      if (seen === undefined) return;
      rev = seen;
      continue;
    }
    const onAbort = () => watch.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const ev of watch) if (ev.type === 'delete') return;
    } catch (e) {
      const seen = await stillThere(kv, key, e, signal);
      if (seen === undefined) return;
      rev = seen;
      continue;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      watch.cancel();
    }
    // The watch ended without a delete: only an abort does that.
    signal?.throwIfAborted();
  }
}

/**
 * Resolves once no key under `prefix` has a create revision `<= maxCreateRev`: the keys queued
 * ahead are all gone. Waits on the newest of them at a time (the direct predecessor).
 */
export async function waitPredecessors(kv: KV, prefix: Buffer, maxCreateRev: bigint, signal?: AbortSignal) {
  for (;;) {
    const r = await kv.range(
      { prefix },
      { maxCreateRevision: maxCreateRev, sort: { target: 'create', order: 'descend' }, limit: 1, signal },
    );
    const pred = r.kvs[0];
    if (!pred) return;
    await waitDelete(kv, pred.key, r.header.revision, signal);
  }
}

/**
 * Runs `f` with a signal that also aborts after `ms` (0 or undefined: no limit); when that
 * deadline (and not the caller's signal) cut it short, throws `onTimeout()` instead.
 */
export async function withDeadline<T>(
  ms: number | undefined,
  signal: AbortSignal | undefined,
  f: (signal: AbortSignal | undefined) => Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  if (!ms) return f(signal);
  const timeout = AbortSignal.timeout(ms);
  try {
    return await f(signal ? AbortSignal.any([signal, timeout]) : timeout);
  } catch (e) {
    if (timeout.aborted && !signal?.aborted) throw onTimeout();
    throw e;
  }
}
