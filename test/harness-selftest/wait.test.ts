/**
 * waitFor's description may be a function, read when the wait times out: a process's output
 * quoted in it is what the process had said by then, not when the wait began.
 */
import { waitFor, withTimeout } from '../harness/wait.js';

test('a description given as a function is read at the timeout', async () => {
  let said = 'nothing yet';
  setTimeout(() => {
    said = 'crashed: boom';
  }, 20);
  await expect(
    waitFor(() => false, { timeoutMs: 150, intervalMs: 10, what: () => `ready (${said})` }),
  ).rejects.toThrow('Timed out after 150ms waiting for ready (crashed: boom)');
});

test('withTimeout reads a function description when it fires', async () => {
  let said = 'before';
  setTimeout(() => {
    said = 'after';
  }, 10);
  await expect(withTimeout(new Promise(() => {}), 60, () => said)).rejects.toThrow(
    'Timed out after 60ms: after',
  );
});

test('a plain text description is used as it is', async () => {
  await expect(waitFor(() => false, { timeoutMs: 50, intervalMs: 10, what: 'the thing' })).rejects.toThrow(
    'Timed out after 50ms waiting for the thing',
  );
});
