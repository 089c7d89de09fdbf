/** Runs `concord dashboard` as a real process (dist/) and waits until it says where it serves. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MAIN } from '../harness/concord.js';
import { ROOT, type Spawned, spawnTracked } from '../harness/fixtures.js';
import { freePort } from '../harness/ports.js';
import { waitFor } from '../harness/wait.js';

export interface DashboardProcess {
  url: string;
  proc: Spawned;
  close(): Promise<void>;
}

export async function startDashboardProcess(
  endpoints: string[],
  ...extra: string[]
): Promise<DashboardProcess> {
  if (!existsSync(path.join(ROOT, 'dist/src/dashboard/assets/app.js')))
    throw new Error('the dashboard is not built: run `npm run build`');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = spawnTracked(process.execPath, [
      MAIN,
      'dashboard',
      '--endpoints',
      endpoints.join(','),
      '--listen',
      `127.0.0.1:${port}`,
      ...extra,
    ]);
    let exited = false;
    void proc.exited.then(() => {
      exited = true;
    });
    const serving = () => proc.lines.map((l) => /serving (http:\S+)/.exec(l)?.[1]).find(Boolean);
    try {
      await waitFor(() => exited || serving() !== undefined, {
        timeoutMs: 20_000,
        what: 'the dashboard to serve',
      });
    } catch (e) {
      proc.child.kill('SIGKILL');
      throw e;
    }
    const url = serving();
    if (url)
      return {
        url,
        proc,
        async close() {
          proc.child.kill('SIGTERM');
          await proc.exited;
        },
      };
    // The port was taken between picking and listening: try another, a few times.
    if (attempt >= 3 || !/EADDRINUSE/.test(proc.stderr()))
      throw new Error(`concord dashboard exited: ${proc.stderr()}`);
  }
}
