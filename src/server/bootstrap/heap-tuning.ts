/**
 * V8's heap tuning for a member. A member's heap is mostly the keyspace: long-lived strings that
 * only grow. V8's default growing factor (up to 4x the live heap after each full collection,
 * sized for a browser tab's churn) let a member's resident memory run at about 2.2x what was
 * live: 7 KB of RSS per 1 KiB put against 3 KB for etcd, whose Go runtime grows by 2x at most
 * (GOGC=100). Growing by 30% instead keeps RSS near the live size: 3.5 KB per 1 KiB put, at
 * about 4% more CPU per put from the extra collections (`npm run bench:memory`, issue 17).
 *
 * An operator's own `--heap-growing-percent` on node's command line wins (Node refuses V8 flags
 * such as this one in NODE_OPTIONS, but a wrapper may still pass them there: both are checked).
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 30;

export function tuneHeap(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): boolean {
  const mentioned = (s: string) => /--heap[-_]growing[-_]percent/.test(s);
  if (execArgv.some(mentioned) || mentioned(nodeOptions)) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
