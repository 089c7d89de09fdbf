/**
 * etcd's YAML config file (etcd.conf.yml, --config-file) read as flag values: the flag names as
 * keys, TLS under `client-transport-security` and `peer-transport-security`, a Go duration as
 * nanoseconds. What the file holds then goes through the same checks as flags do, so a bad
 * value is refused with the same message whichever way it came.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from '../server/index.js';
import { KNOWN, textOf } from './known-flags.js';
import type { Note } from './settings.js';

/** etcd's YAML transport sections: their keys, and the flag each one is. */
const TRANSPORT_KEYS: Record<string, [client: string, peer: string]> = {
  'cert-file': ['cert-file', 'peer-cert-file'],
  'key-file': ['key-file', 'peer-key-file'],
  'client-cert-auth': ['client-cert-auth', 'peer-client-cert-auth'],
  'trusted-ca-file': ['trusted-ca-file', 'peer-trusted-ca-file'],
  'auto-tls': ['auto-tls', 'peer-auto-tls'],
  'crl-file': ['client-crl-file', 'peer-crl-file'],
  'allowed-cn': ['client-cert-allowed-cn', 'peer-cert-allowed-cn'],
  'allowed-hostname': ['client-cert-allowed-hostname', 'peer-cert-allowed-hostname'],
  'skip-client-san-verification': [
    'experimental-peer-skip-client-san-verification',
    'experimental-peer-skip-client-san-verification',
  ],
};

/** etcd's YAML config file as flag values (etcd's keys; the transport sections flattened). */
export function readConfigFile(file: string, notes: Note[]): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config-file ${file}: cannot read it: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`--config-file ${file}: not valid YAML: ${(err as Error).message}`);
  }
  const out = new Map<string, string>();
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(
      `--config-file ${file}: expected a mapping of etcd's settings (name: …, data-dir: …)`,
    );
  const put = (key: string, flag: string, v: unknown) => {
    if (v === null || v === undefined) return;
    const spec = KNOWN.get(flag);
    if (!spec) {
      notes.push({
        level: 'warn',
        msg: `--config-file ${file}: unknown key ${JSON.stringify(key)} ignored`,
        fields: { key },
      });
      return;
    }
    let value: string;
    if (Array.isArray(v)) value = v.map(textOf).join(',');
    else if (typeof v === 'object')
      throw new ConfigError(`--config-file ${file}: ${key}: expected a value, got a mapping`);
    // A Go time.Duration in etcd's YAML is a number of nanoseconds.
    else if (typeof v === 'number' && 'duration' in spec && spec.duration) value = `${v}ns`;
    else value = textOf(v);
    out.set(flag, value);
  };
  for (const [key, v] of Object.entries(doc as Record<string, unknown>)) {
    const side = key === 'client-transport-security' ? 0 : key === 'peer-transport-security' ? 1 : -1;
    if (side >= 0) {
      if (v === null || v === undefined) continue;
      if (typeof v !== 'object' || Array.isArray(v))
        throw new ConfigError(
          `--config-file ${file}: ${key}: expected a mapping (cert-file: …, key-file: …)`,
        );
      for (const [k, sub] of Object.entries(v as Record<string, unknown>)) {
        const flags = TRANSPORT_KEYS[k];
        if (!flags) {
          notes.push({
            level: 'warn',
            msg: `--config-file ${file}: unknown key ${JSON.stringify(`${key}.${k}`)} ignored`,
            fields: { key: `${key}.${k}` },
          });
          continue;
        }
        put(`${key}.${k}`, side === 0 ? flags[0] : flags[1], sub);
      }
      continue;
    }
    put(key, key, v);
  }
  return out;
}
