/**
 * Every flag `serve` accepts (implemented or ignored), by name, and the names and text its value
 * has in the places it can come from: a command line, an ETCD_* variable, the YAML file.
 */
import { IGNORED_FLAGS, type IgnoredSpec } from './ignored-flags.js';
import { type FlagSpec, SERVE_FLAGS } from './serve-flags.js';

/** By flag name: what `serve` knows of it (YAML durations, Go-style dashes, ETCD_* names). */
export const KNOWN = new Map<string, FlagSpec | IgnoredSpec>(
  [...SERVE_FLAGS, ...IGNORED_FLAGS].map((s) => [s.flag, s] as const),
);

/** `--initial-cluster` → `ETCD_INITIAL_CLUSTER` (etcd's flags.FlagToEnv). */
export const envOf = (flag: string): string => `ETCD_${flag.toUpperCase().replaceAll('-', '_')}`;

/** commander's attribute name for a flag. */
export const attrOf = (flag: string): string =>
  flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A value as flag text: commander gives true for a bare flag, YAML gives booleans and numbers. */
export function textOf(v: unknown): string {
  return v === true ? 'true' : String(v);
}
