/** Runs the real `etcdctl` (ETCDCTL_BIN) as a tracked child process. */
import { spawn } from 'node:child_process';
import { registerPid, unregisterPid } from './process-registry.js';

export const ETCDCTL_BIN = process.env.ETCDCTL_BIN || 'etcdctl';

export interface EtcdctlOptions {
  /** Endpoints to pass as `--endpoints` (default: all members' endpoints). */
  endpoints?: string[];
  /**
   * Write host:port endpoints as URLs (`http://` or, on a TLS cluster, `https://`): the form
   * etcd's docs use, which makes clientv3 send the URL as :authority. Cluster etcdctl only.
   */
  urls?: boolean;
  /** Written to etcdctl's stdin. */
  input?: string;
  /** Kill etcdctl (SIGKILL) after this long. Default 15 000 ms. */
  timeoutMs?: number;
  /** Extra environment (ETCDCTL_* from the parent environment are dropped, ETCDCTL_API=3 is set). */
  env?: Record<string, string>;
  /** Throw (with stdout/stderr) unless etcdctl exits with code 0. */
  check?: boolean;
}

export interface EtcdctlResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null if etcdctl was killed by a signal (e.g. on timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/** Runs etcdctl with ETCDCTL_API=3 (any inherited ETCDCTL_* variables are dropped). */
export function runEtcdctl(args: string[], opts: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  const { input, timeoutMs = 15_000, check = false } = opts;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_')) env[k] = v;
  Object.assign(env, { ETCDCTL_API: '3' }, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(ETCDCTL_BIN, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const pid = child.pid ?? -1;
    if (pid > 0) registerPid(pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      if (pid > 0) return; // a running process' errors are followed by 'close'
      clearTimeout(timer);
      reject(new Error(`cannot run ${ETCDCTL_BIN}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pid > 0) unregisterPid(pid);
      const result: EtcdctlResult = { stdout, stderr, code, signal, timedOut };
      if (check && code !== 0) {
        const why = timedOut
          ? `timed out after ${timeoutMs}ms`
          : `code ${code}${signal ? ` (${signal})` : ''}`;
        reject(new Error(`etcdctl ${args.join(' ')} failed: ${why}\nstdout: ${stdout}\nstderr: ${stderr}`));
      } else {
        resolve(result);
      }
    });
  });
}
