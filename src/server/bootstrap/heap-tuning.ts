/**
 * V8's heap tuning for a member. A member's heap is mostly the keyspace: long-lived strings that
 * only grow. V8's default growing factor (up to 4x the live heap after each full collection,
 * sized for a browser tab's churn) let a member's resident memory run at about 2.2x what was
 * live: 7 KB of RSS per 1 KiB put against 3 KB for etcd, whose Go runtime grows by 2x at most
 * (GOGC=100). Growing by 30% keeps RSS near the live size: 3.5 KB per 1 KiB put
 * (`npm run bench:memory`, issue 17).
 *
 * But 30% of a small heap is a few megabytes, and a member serving requests allocates tens of
 * kilobytes per call: with 10,000 keys (30 MB live) a full collection ran every 350 ms under
 * serializable ranges, and server CPU per range was 132-136 µs against 72-101 µs growing by
 * 100%. So the factor follows the live heap: the heap may grow by HEAP_HEADROOM_BYTES after a
 * full collection, as a fraction between 30% and 100% of what is live. A small keyspace gets
 * room to allocate in; from about 210 MB live on, growth is 30%, as before.
 *
 * An operator's own `--heap-growing-percent` on node's command line wins (Node refuses V8 flags
 * such as this one in NODE_OPTIONS, but a wrapper may still pass them there: both are checked).
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** The least the heap grows by after a full collection, as a percentage of what is live. */
export const HEAP_GROWING_PERCENT = 30;
/** The most, for a small live heap. */
export const HEAP_GROWING_PERCENT_MAX = 100;
/** What the heap may grow by after a full collection, within those percentages. */
export const HEAP_HEADROOM_BYTES = 64 * 1024 * 1024;

/** The growing percentage for a heap with `liveBytes` live after a full collection. */
export function heapGrowingPercent(liveBytes: number): number {
  const percent = Math.ceil((100 * HEAP_HEADROOM_BYTES) / Math.max(liveBytes, 1));
  return Math.min(HEAP_GROWING_PERCENT_MAX, Math.max(HEAP_GROWING_PERCENT, percent));
}

export interface HeapTuningHooks {
  /** Sets V8's growing percentage (default: v8.setFlagsFromString). */
  set(percent: number): void;
  /** Bytes live on the heap now (default: v8.getHeapStatistics().used_heap_size). */
  live(): number;
  /** Calls `f` after each full collection (default: a PerformanceObserver on 'gc'). */
  afterFullGc(f: () => void): void;
}

export const v8HeapHooks: HeapTuningHooks = {
  set: (percent) => v8.setFlagsFromString(`--heap-growing-percent=${percent}`),
  live: () => v8.getHeapStatistics().used_heap_size,
  afterFullGc(f) {
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries() as unknown as { detail?: { kind?: number } }[])
        if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) return f();
    });
    observer.observe({ entryTypes: ['gc'] });
  },
};

/**
 * Sets the growing factor for the live heap now and after every full collection (V8 reads it
 * when it sizes the heap after the next one); false if the operator set their own.
 */
export function tuneHeap(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
  hooks: HeapTuningHooks = v8HeapHooks,
): boolean {
  const mentioned = (s: string) => /--heap[-_]growing[-_]percent/.test(s);
  if (execArgv.some(mentioned) || mentioned(nodeOptions)) return false;
  let current = 0;
  const adapt = () => {
    const percent = heapGrowingPercent(hooks.live());
    if (percent === current) return;
    current = percent;
    hooks.set(percent);
  };
  adapt();
  hooks.afterFullGc(adapt);
  return true;
}
