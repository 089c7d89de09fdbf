/**
 * Jest setup file of the 'concord' project: the etcd harness starts Concord members instead of
 * etcd (through a wrapper taking etcd's command line), so the same suites run against both.
 */
import path from 'node:path';

process.env.ETCD_BIN = path.resolve(__dirname, 'concord-as-etcd');
