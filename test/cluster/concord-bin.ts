/** Concord behind etcd's command line: the etcd harness starts Concord members with it. */
export { CONCORD_AS_ETCD as CONCORD_BIN } from '../harness/targets.js';
