/**
 * Preloaded (`node --import`) into each member process of a test cluster: when the process that
 * started the member goes away without stopping it (killed by a signal, or a runner that ends
 * its workers without running their exit handlers), the member's stdin, a pipe from that
 * process, ends. The member then removes the cluster's temporary dir (every member's data,
 * those already killed included: the other members are going too) and dies at once, so nothing
 * is left running or written.
 */
import { rmSync } from 'node:fs';

const root = process.env.CONCORD_TESTING_ROOT;

function orphaned(): void {
  try {
    if (root) rmSync(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
  } catch {
    // best effort: the process is going
  }
  process.kill(process.pid, 'SIGKILL');
}

if (root) {
  process.stdin.on('end', orphaned);
  process.stdin.on('error', orphaned);
  process.stdin.on('close', orphaned);
  process.stdin.resume();
}
