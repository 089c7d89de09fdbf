/**
 * The servers a test in the 'unit' project compares itself against: real etcd, and Concord
 * behind etcd's command line (the compat suites get the same pair from the 'etcd' and 'concord'
 * jest projects instead).
 */
import path from 'node:path';

/** Stands in for the etcd binary: starts `concord serve` with etcd's flags. */
export const CONCORD_AS_ETCD = path.resolve(__dirname, 'concord-as-etcd');

/** `[name, bin]` of each target, for `describe.each(BOTH_TARGETS)('... on %s', (name, bin) => ...)`. */
export const BOTH_TARGETS: [string, string][] = [
  ['etcd', 'etcd'],
  ['concord', CONCORD_AS_ETCD],
];
