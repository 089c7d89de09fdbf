/**
 * Reading one flag's text as etcd reads it (Go durations, URL lists, `true`/`false`, the
 * --auth-token options), refused with a message that names the flag and quotes the value, so
 * that whoever typed it sees which one to fix.
 */

import { ConfigError } from '../../errors.js';
import { type CompactionMode, parseRetention } from '../compactor.js';
import type { TlsFiles } from '../tls.js';
import { DEFAULT_BCRYPT_COST, MAX_BCRYPT_COST, MIN_BCRYPT_COST, type ServeConfig } from './serve-config.js';

export function booleanFlag(flag: string, value: string | undefined, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (value === 'true' || value === '') return true;
  if (value === 'false') return false;
  throw new ConfigError(`--${flag}: expected true or false, got ${JSON.stringify(value)}`);
}

/** One port's TLS flags; undefined when neither a certificate nor a key is given (etcd's TLSInfo.Empty). */
export function tlsFilesOf(
  prefix: '' | 'peer-',
  certFile: string | undefined,
  keyFile: string | undefined,
  trustedCaFile: string | undefined,
  clientCertAuth: string | undefined,
): TlsFiles | undefined {
  const auth = booleanFlag(`${prefix}client-cert-auth`, clientCertAuth, false);
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile)
    throw new ConfigError(`--${prefix}cert-file and --${prefix}key-file must be given together`);
  return { certFile, keyFile, trustedCaFile: trustedCaFile || undefined, clientCertAuth: auth };
}

/** etcd's --auth-token value: "simple" or "jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…" (decomposeOpts). */
export function authTokenOf(value: string | undefined): ServeConfig['authToken'] {
  const [type = '', ...rest] = (value ?? 'simple').split(',');
  const options: Record<string, string> = {};
  for (const o of rest) {
    const pair = o.split('=');
    if (pair.length !== 2 || pair[0]! in options)
      throw new ConfigError(
        `--auth-token: invalid token option ${JSON.stringify(o)} in ${JSON.stringify(value)}`,
      );
    options[pair[0]!] = pair[1]!;
  }
  if (type !== 'simple' && type !== 'jwt')
    throw new ConfigError(`--auth-token: expected "simple" or "jwt", got ${JSON.stringify(type)}`);
  if (type === 'jwt' && (!options['pub-key'] || !options['sign-method']))
    throw new ConfigError(
      `--auth-token: jwt needs pub-key=<file> and sign-method=<alg> (priv-key=<file> to sign), got ${JSON.stringify(value)}`,
    );
  if (type === 'jwt' && options.ttl !== undefined) parseDuration('auth-token ttl', options.ttl);
  return { type, options };
}

export function autoCompactionOf(
  mode: string | undefined,
  retention: string | undefined,
): { mode: CompactionMode; retention: number } | undefined {
  const m = mode ?? 'periodic';
  if (m !== 'periodic' && m !== 'revision')
    throw new ConfigError(
      `--auto-compaction-mode: expected "periodic" or "revision", got ${JSON.stringify(m)}`,
    );
  if (retention === undefined || retention === '0' || retention === '') return undefined;
  try {
    return {
      mode: m,
      retention: parseRetention(m, retention, (v) => parseDuration('auto-compaction-retention', v)),
    };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration ("10m", "1.5s", "1h30m", "500ms") in milliseconds, as etcd's duration flags take. */
export function parseDuration(flag: string, value: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (value === '' || at !== value.length || ms <= 0)
    throw new ConfigError(
      `--${flag}: expected a duration such as "10m" or "500ms", got ${JSON.stringify(value)}`,
    );
  return ms;
}

export function parseUrls(flag: string, value: string): URL[] {
  return value.split(',').map((s) => {
    let u: URL;
    try {
      u = new URL(s.trim());
    } catch {
      throw new ConfigError(`--${flag}: ${JSON.stringify(s)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new ConfigError(`--${flag}: ${JSON.stringify(s)}: expected an http:// or https:// URL`);
    if (!u.port) throw new ConfigError(`--${flag}: ${JSON.stringify(s)} has no port`);
    return u;
  });
}

export function positiveInt(flag: string, value: string | undefined, dflt: number, min = 1): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new ConfigError(`--${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** etcd's --cors: comma-separated origins; empty or `*` allows any origin. */
export function corsOf(value: string | undefined): string[] {
  const list = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0 || list.includes('*')) return ['*'];
  return [
    ...new Set(
      list.map((o) => {
        let u: URL | undefined;
        try {
          u = new URL(o);
        } catch {
          u = undefined;
        }
        if (!u || u.origin === 'null')
          throw new ConfigError(
            `--cors: ${JSON.stringify(o)} is not an origin: give scheme://host[:port] (as a browser sends it) or *`,
          );
        return u.origin;
      }),
    ),
  ];
}

export function bcryptCostOf(value: string | undefined): number {
  const cost = positiveInt('bcrypt-cost', value, DEFAULT_BCRYPT_COST);
  if (cost < MIN_BCRYPT_COST || cost > MAX_BCRYPT_COST)
    throw new ConfigError(
      `--bcrypt-cost: expected ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}, got ${JSON.stringify(value)}`,
    );
  return cost;
}
