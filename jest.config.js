/**
 * Four projects: pure unit tests, workflow tests on the time-skipping server, integration tests on
 * the real dev server, and cluster tests on the production topology (the full Temporal server and
 * the store on PostgreSQL, worker processes; test/helpers/cluster.ts).
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] };
const project = (displayName, extra = {}) => ({
  displayName,
  testEnvironment: 'node',
  transform,
  testMatch: [`<rootDir>/test/${displayName}/**/*.test.ts`],
  // The worker bundles workflows with its own webpack; jest must not rewrite them.
  moduleFileExtensions: ['ts', 'js', 'json'],
  ...extra,
});
// Workflow code bundled once per run, for every worker and replay of these projects (test/helpers/workflow-bundle.ts).
const runsWorkflows = {
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
};

module.exports = {
  projects: [
    project('unit'),
    project('workflow', runsWorkflows),
    project('integration', runsWorkflows),
    project('cluster', runsWorkflows),
  ],
  // Integration tests wait for real upgrades; a hung one still ends.
  testTimeout: 240_000,
  // 2 cores: the servers and workers of the suites run one file at a time.
  maxWorkers: 1,
  // A suite whose teardown failed can leave a worker polling for ever; the run must still end (the warning stays).
  forceExit: true,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
