/**
 * Setup file of the 'etcd-fetch' and 'concord-fetch' projects: says which transport the suite's
 * Client uses by default, for the few assertions that differ on etcd 3.4's JSON gateway.
 */
process.env.CONCORD_TEST_TRANSPORT = 'fetch';
