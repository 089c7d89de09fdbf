/**
 * Deadlines for store calls: one AbortSignal from the caller's signal and timeout, and a race
 * that settles the caller's promise as soon as it fires, whatever the work underneath does.
 */
import { StoreDeadlineError } from '../errors.js';
import type { StoreCallOptions } from './types.js';

export interface Deadline {
  signal: AbortSignal;
  /** Removes the timer; call in `finally`. */
  done(): void;
}

export function deadline(
  opts: StoreCallOptions | undefined,
  defaultMs: number | undefined,
  what: string,
): Deadline {
  const ms = opts?.timeoutMs ?? defaultMs;
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  if (ms !== undefined && Number.isFinite(ms)) {
    timer = setTimeout(() => ctl.abort(new StoreDeadlineError(`${what}: deadline of ${ms} ms exceeded`)), ms);
    timer.unref();
  }
  const outer = opts?.signal;
  const onAbort = () => ctl.abort(new StoreDeadlineError(`${what}: aborted`, outer?.reason));
  if (outer?.aborted) onAbort();
  else outer?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: ctl.signal,
    done() {
      if (timer) clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts. `onLate` gets
 * the result if `work` resolves after that (e.g. to release a connection nobody will use).
 */
export function race<T>(work: Promise<T>, signal: AbortSignal, onLate?: (value: T) => void): Promise<T> {
  if (signal.aborted) {
    work.then(onLate, () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) onLate?.(v);
        else resolve(v);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) reject(err);
      },
    );
  });
}
