/** Waiting in tests: sleep, a deadline on a promise, polling a condition. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with `Timed out after <ms>ms: <what>` unless `p` settles first. The timer never outlives `p`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: Description): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms}ms: ${describe(what)}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What a wait is for, as text or as a function read when the wait times out: a process's output
 * quoted in a description must be read then, not when the wait began.
 */
export type Description = string | (() => string);

const describe = (what: Description): string => (typeof what === 'function' ? what() : what);

export interface WaitForOptions {
  /** Default 10 000. */
  timeoutMs?: number;
  /** Delay between attempts. Default 100. */
  intervalMs?: number;
  /** Description used in the timeout error. */
  what?: Description;
}

/**
 * Polls `cond` until it returns true. A throwing/rejecting `cond` counts as "not yet"; its last error is
 * reported in the timeout error.
 */
export async function waitFor(
  cond: () => Promise<boolean> | boolean,
  { timeoutMs = 10_000, intervalMs = 100, what = 'condition' }: WaitForOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const remaining = Math.max(1, deadline - Date.now());
      if (await withTimeout(Promise.resolve(cond()), remaining, what)) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError === undefined ? '' : ` (last error: ${errorMessage(lastError)})`;
      throw new Error(`Timed out after ${timeoutMs}ms waiting for ${describe(what)}${detail}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves 'pending' unless `p` settles within `ms` (for asserting that something has not happened yet). */
export async function settlesWithin<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<'pending'>((r) => {
    t = setTimeout(() => r('pending'), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}
