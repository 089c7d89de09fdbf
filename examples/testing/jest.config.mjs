/**
 * Jest for the example in this folder. concord-kv is an ES module, so the test runs in Jest's
 * ESM mode (`node --experimental-vm-modules`): TypeScript is compiled to ES modules (SWC here;
 * ts-jest with `useESM` works too) and `.ts` files are treated as ESM.
 */
export default {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/jest.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } },
    ],
  },
};
