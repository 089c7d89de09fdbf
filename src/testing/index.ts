/**
 * `concord-kv/testing`: a Concord cluster for an application's own tests, started and thrown
 * away by the test itself (see docs/testing.md).
 *
 * @module concord-kv/testing
 */
export {
  type LeaderOptions,
  startTestCluster,
  type TestCluster,
  type TestClusterOptions,
  type TestMember,
} from './cluster.js';
