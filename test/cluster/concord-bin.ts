import path from 'node:path';
import { ROOT } from '../harness/fixtures.js';

/** Concord behind etcd's command line: the etcd harness starts Concord members with it. */
export const CONCORD_BIN = path.join(ROOT, 'test/harness/concord-as-etcd');
