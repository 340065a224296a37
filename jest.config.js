// Jest in ESM mode (the Kubernetes client is ESM-only); ts-jest compiles TypeScript on the fly.
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};

export default {
  projects: [
    // Pure logic, next to the code it tests: no stack needed.
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{common,workflows,activities,workers,watcher,node-agent,cli,dev/stack,dev/bench}/**/*.test.ts'] },
    // The lifecycle workflow against Temporal's time-skipping test server with mocked activities. `npm test` runs it
    // in a Jest process of its own: the Temporal runtime it sets up is process-wide, and its teardown must not reach
    // the tests that follow.
    { ...common, displayName: 'workflow', testMatch: ['<rootDir>/test/lifecycle-workflow/**/*.test.ts'] },
    // Against the real local stack (Temporal, kube-apiserver + etcd, moto, helm, network namespaces).
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/lifecycle-workflow/'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
    },
  ],
  // Global only: Jest ignores testTimeout inside a project entry.
  testTimeout: 240000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
};
