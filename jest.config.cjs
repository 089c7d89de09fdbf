/**
 * Tests run as CommonJS through SWC (fast, no type check: `npm run typecheck` does that).
 *
 * The SDK, recipe and docs suites talk to a cluster started by test/harness/etcd.ts; they run twice,
 * once per target: project 'etcd' starts real etcd, project 'concord' starts Concord through
 * test/harness/concord-as-etcd (same command line, same tests). Everything else runs once, in 'unit'.
 */
const path = require('node:path');

const transform = {
  '^.+\\.(t|j)sx?$': [
    '@swc/jest',
    { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
  ],
};

const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform,
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** Suites that take their target from ETCD_BIN. */
const TARGET_SUITES = [
  '<rootDir>/test/compat/*.test.ts',
  '<rootDir>/test/recipes/*.test.ts',
  '<rootDir>/test/docs/*.test.ts',
];

/** Target suites that run in the etcd project only. */
const ETCD_ONLY_FILES = [
  // Already compares Concord with etcd (starts both itself).
  'test/compat/etcdctl-concord.test.ts',
  'test/compat/etcdctl-auth.test.ts',
];

/**
 * Not passing against Concord yet, each with its reason: remove an entry once its reason is gone.
 * (Until Raft replication landed in `concord serve`, every file starting a 3- or 5-member
 * cluster was listed here.)
 */
const CONCORD_PENDING_FILES = [];

const exactly = (file) => `<rootDir>/${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

module.exports = {
  testTimeout: 60000,
  maxWorkers: 2,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/(compat|recipes|docs)/'],
    },
    {
      ...common,
      displayName: 'etcd',
      testMatch: TARGET_SUITES,
    },
    {
      ...common,
      displayName: 'concord',
      testMatch: TARGET_SUITES,
      testPathIgnorePatterns: [
        '/node_modules/',
        ...[...ETCD_ONLY_FILES, ...CONCORD_PENDING_FILES].map(exactly),
      ],
      setupFiles: [path.join(__dirname, 'test/harness/target-concord.ts')],
    },
  ],
};
