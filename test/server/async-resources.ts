import { createHook } from 'node:async_hooks';

/** Runs `fn` and returns the types of the async resources (timers, immediates, I/O requests) created meanwhile. */
export async function created(fn: () => Promise<void>): Promise<string[]> {
  const types: string[] = [];
  const hook = createHook({ init: (_id, type) => types.push(type) });
  hook.enable();
  try {
    await fn();
  } finally {
    hook.disable();
  }
  return types;
}
